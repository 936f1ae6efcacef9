/**
 * The static import graph of src/: every `import ... from` and `export ... from` with a relative
 * specifier, read with the TypeScript parser (dynamic `import()` is not an edge: it runs when
 * called, not at load). `typeOnly` marks edges that vanish from the compiled JavaScript.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

export interface Edge {
  to: string;
  typeOnly: boolean;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** file (relative to root, e.g. "src/cli/main.ts") -> its static imports of other src files. */
export function importGraph(root: string, dir = "src"): Map<string, Edge[]> {
  const graph = new Map<string, Edge[]>();
  for (const file of tsFiles(join(root, dir))) {
    const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
    const edges: Edge[] = [];
    for (const st of sf.statements) {
      let spec: ts.Expression | undefined;
      let typeOnly = false;
      if (ts.isImportDeclaration(st)) {
        spec = st.moduleSpecifier;
        const clause = st.importClause;
        // `import type {...}`, or `import { type A, type B }` with nothing else: erased by tsc.
        typeOnly = Boolean(
          clause &&
            (clause.isTypeOnly ||
              (!clause.name &&
                clause.namedBindings &&
                ts.isNamedImports(clause.namedBindings) &&
                clause.namedBindings.elements.length > 0 &&
                clause.namedBindings.elements.every((e) => e.isTypeOnly))),
        );
      } else if (ts.isExportDeclaration(st) && st.moduleSpecifier) {
        spec = st.moduleSpecifier;
        typeOnly = st.isTypeOnly;
      }
      if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith(".")) continue;
      const target = resolve(dirname(file), spec.text).replace(/\.js$/, ".ts");
      edges.push({ to: relative(root, target), typeOnly });
    }
    graph.set(relative(root, file), edges);
  }
  return graph;
}

/** Every elementary cycle found by a depth-first search, each as [a, b, ..., a]; one per back edge. */
export function findCycles(graph: Map<string, Edge[]>, includeTypeOnly: boolean): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const e of graph.get(node) ?? []) {
      if (e.typeOnly && !includeTypeOnly) continue;
      const s = state.get(e.to);
      if (s === "open") cycles.push([...stack.slice(stack.indexOf(e.to)), e.to]);
      else if (s === undefined && graph.has(e.to)) visit(e.to);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return cycles;
}
