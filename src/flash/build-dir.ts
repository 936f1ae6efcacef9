/**
 * Which build folder to flash: --manifest (its folder; rsagen.json or ESP-IDF's flasher_args.json),
 * --build-dir, the config's buildDir, or under ./build: the folder itself when it is a build (a
 * plain `idf.py build` leaves flasher_args.json there), else its subfolders holding one (the one for
 * --target; the most recent if several).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { FLASHER_ARGS_FILE, MANIFEST_FILE } from "../build/manifest.js";
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
  if (isBuild(root)) return root;
  const candidates = existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((d) => d.isDirectory() && isBuild(join(root, d.name)))
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
  const mtime = (d: string) => statSync(join(d, buildFile(d))).mtimeMs;
  return candidates.sort((a, b) => mtime(b) - mtime(a))[0]!;
}

function buildFile(dir: string): string {
  return existsSync(join(dir, MANIFEST_FILE)) ? MANIFEST_FILE : FLASHER_ARGS_FILE;
}

function isBuild(dir: string): boolean {
  return existsSync(join(dir, MANIFEST_FILE)) || existsSync(join(dir, FLASHER_ARGS_FILE));
}
