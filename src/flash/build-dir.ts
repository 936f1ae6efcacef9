/**
 * Which build folder to flash: --manifest (its folder), --build-dir, the config's buildDir, or
 * the build/ folders holding an rsagen.json (the one for --target; the most recent if several).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { MANIFEST_FILE } from "../build/manifest.js";
import { RsagenError } from "../errors.js";

export interface BuildDirChoice {
  manifest?: string | undefined;
  buildDir?: string | undefined;
  configBuildDir?: string | undefined;
  target?: string | undefined;
  cwd: string;
}

export function chooseBuildDir(c: BuildDirChoice): string {
  if (c.manifest) return dirname(resolve(c.cwd, c.manifest));
  if (c.buildDir) return resolve(c.cwd, c.buildDir);
  const root = resolve(c.cwd, c.configBuildDir ?? "build");
  if (existsSync(join(root, MANIFEST_FILE))) return root;
  const candidates = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(root, d.name, MANIFEST_FILE)))
        .filter((d) => !c.target || d.name === c.target || d.name.startsWith(`${c.target}-`))
        .map((d) => join(root, d.name))
    : [];
  if (candidates.length === 0) {
    throw new RsagenError(
      "E_NO_MANIFEST",
      `no build${c.target ? ` for ${c.target}` : ""} found under ${root}`,
      `run rsagen build${c.target ? ` --target ${c.target}` : ""} (or --host) first, or pass --build-dir`,
    );
  }
  const mtime = (d: string) => statSync(join(d, MANIFEST_FILE)).mtimeMs;
  return candidates.sort((a, b) => mtime(b) - mtime(a))[0]!;
}
