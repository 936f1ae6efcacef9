/**
 * No import cycles in src/, type-only imports included: a module that imports what imports it
 * (transport.ts and its backends once did) loads in an order that depends on who imports first,
 * and hides a layering mistake. The check reads src/ with the TypeScript parser; `import()` inside
 * a function is not an edge (the CLI's lazily loaded commands use it on purpose).
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type Edge, findCycles, importGraph } from "./import-graph.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("the import graph of src/", () => {
  const graph = importGraph(ROOT);

  it("is read: every module is found and the known edges are there", () => {
    expect(graph.size).toBeGreaterThan(50);
    const edgesOf = (f: string) => (graph.get(f) ?? []).map((e) => e.to);
    expect(edgesOf("src/serial/open-transport.ts")).toEqual(
      expect.arrayContaining(["src/serial/rfc2217-transport.ts", "src/serial/transport.ts"]),
    );
    // A type-only edge is still an edge.
    expect(graph.get("src/serial/transport-base.ts")).toContainEqual({
      to: "src/serial/transport.ts",
      typeOnly: true,
    });
  });

  it("has no cycle, counting type-only imports", () => {
    const cycles = findCycles(graph, true).map((c) => c.join(" -> "));
    expect(cycles).toEqual([]);
  });

  it("the search finds a cycle when there is one (transport.ts importing its backend again)", () => {
    const withCycle = new Map<string, Edge[]>(graph);
    withCycle.set("src/serial/transport.ts", [
      ...(graph.get("src/serial/transport.ts") ?? []),
      { to: "src/serial/serialport-transport.ts", typeOnly: false },
    ]);
    expect(findCycles(withCycle, true).map((c) => c.join(" -> "))).toContain(
      "src/serial/transport.ts -> src/serial/serialport-transport.ts -> src/serial/transport.ts",
    );
    // Type-only edges can be left out: serialport-transport.ts -> transport.ts is one.
    expect(findCycles(withCycle, false)).toEqual([]);
  });
});
