/**
 * `rsagen --help`, `rsagen <command> --help` and `rsagen --version` load commander and the command
 * declarations only: no zod, serialport, esptool-js or execa, and no action or work module
 * (docs/architecture.md, "Adding a command"). The compiled CLI runs under a preload that records
 * every module the process loads (test/cli/fixtures/record-loads.mjs), so an eager import anywhere
 * on the help path fails here. The commands are read from `rsagen --help`, so a new one is covered.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { VERSION } from "../../src/cli/version.js";
import { CLI, REPO_ROOT } from "../helpers/run-cli.js";

const PRELOAD = fileURLToPath(new URL("./fixtures/record-loads.mjs", import.meta.url));
const ROOT_URL = pathToFileURL(REPO_ROOT).href.replace(/\/?$/, "/");
const HEAVY_PACKAGES = ["zod", "serialport", "@serialport", "esptool-js", "execa"];
/** Modules outside dist/cli/ that a declaration may use: tiny, pure, no dependencies. */
const ALLOWED_OUTSIDE_CLI = ["dist/errors.js", "dist/sim/fault-knobs.js"];
/** In dist/cli/: what only an action needs (zod schemas, settings) and the actions themselves. */
const ACTION_ONLY = /^dist\/cli\/(actions\/|options\.js$|config\.js$|context\.js$)/;

const dir = mkdtempSync(join(tmpdir(), "rsagen-loads-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Runs the CLI under the recorder; returns its result and the repo-relative modules it loaded. */
function runRecorded(args: string[]) {
  const log = join(dir, `loads-${n++}.txt`);
  const env: NodeJS.ProcessEnv = { ...process.env, RSAGEN_LOAD_LOG: log };
  delete env.ESPPORT;
  delete env.ESPBAUD;
  const r = spawnSync(process.execPath, ["--import", PRELOAD, CLI, ...args], {
    cwd: REPO_ROOT,
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  const loaded = [
    ...new Set(
      readFileSync(log, "utf8")
        .split("\n")
        .filter((u) => u.startsWith(ROOT_URL))
        .map((u) => u.slice(ROOT_URL.length)),
    ),
  ];
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, loaded };
}

const packagesOf = (loaded: string[]) =>
  [...new Set(loaded.flatMap((f) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1] ?? []))].sort();

/** What may not be on a help path: heavy packages, action-only CLI modules, work modules. */
function offenders(loaded: string[]): string[] {
  return loaded.filter((f) => {
    if (f.startsWith("node_modules/")) return !f.startsWith("node_modules/commander/");
    if (f === "bin/rsagen") return false;
    if (f.startsWith("dist/cli/")) return ACTION_ONLY.test(f);
    return !ALLOWED_OUTSIDE_CLI.includes(f);
  });
}

const top = runRecorded(["--help"]);
const commands = [...top.stdout.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)]
  .map((m) => m[1]!)
  .filter((c) => c !== "help");

describe("help and version load no command's work", () => {
  it("rsagen --help lists the commands and loads commander and the declarations only", () => {
    expect(top.status).toBe(0);
    expect(commands).toEqual(expect.arrayContaining(["build", "flash", "keygen", "sim", "monitor", "info"]));
    expect(top.loaded).toContain("dist/cli/main.js");
    expect(HEAVY_PACKAGES.filter((p) => top.loaded.some((f) => f.startsWith(`node_modules/${p}/`)))).toEqual(
      [],
    );
    expect(packagesOf(top.loaded)).toEqual(["commander"]);
    expect(offenders(top.loaded)).toEqual([]);
  });

  it("rsagen <command> --help, for every command: the same", () => {
    for (const cmd of commands) {
      const r = runRecorded([cmd, "--help"]);
      expect(r.status, `${cmd} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: rsagen ${cmd}`);
      expect({ cmd, packages: packagesOf(r.loaded), offenders: offenders(r.loaded) }).toEqual({
        cmd,
        packages: ["commander"],
        offenders: [],
      });
    }
  });

  it("rsagen --version and -V print the version without loading dist/ or any package", () => {
    for (const flag of ["--version", "-V"]) {
      const r = runRecorded([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
      expect(r.loaded).toEqual(["bin/rsagen"]);
    }
  });

  it("the recorder sees what a running command loads (zod and its action; serialport from CommonJS)", () => {
    const keygen = runRecorded(["keygen", "--bits", "7"]);
    expect(keygen.status).toBe(2); // E_USAGE from the zod schema
    expect(packagesOf(keygen.loaded)).toContain("zod");
    expect(offenders(keygen.loaded)).toEqual(
      expect.arrayContaining(["dist/cli/actions/keygen.js", "dist/cli/options.js"]),
    );
    const monitor = runRecorded(["monitor", "--port", join(dir, "no-such-tty")]);
    expect(monitor.status).toBe(10); // E_NO_PORT
    expect(packagesOf(monitor.loaded)).toEqual(expect.arrayContaining(["@serialport/stream", "serialport"]));
    expect(offenders(monitor.loaded)).toContain("dist/serial/open-transport.js");
  });
});
