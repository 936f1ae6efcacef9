/**
 * Espressif's Python esptool as a test peer. It is not installable in CI (no PyPI there): tests
 * that need it find it through $ESPTOOL, then PATH, then /root/.local/bin/esptool (a pipx install),
 * and skip with a one-line reason where it is absent.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";

export interface EsptoolInfo {
  /** The esptool executable, or undefined. */
  path: string | undefined;
  /** `esptool version` output (e.g. "5.3.0"), or why it is missing. */
  version: string;
  /** esp_rfc2217_server next to it (same install), if present. */
  rfc2217Server: string | undefined;
}

function runsAsEsptool(path: string): string | undefined {
  const r = spawnSync(path, ["version"], { encoding: "utf8", timeout: 20_000, env: esptoolEnv() });
  if (r.status !== 0) return undefined;
  return r.stdout.trim().split("\n").pop()?.trim();
}

function findEsptool(): EsptoolInfo {
  const candidates: string[] = [];
  // $ESPTOOL, when set, is the only one tried (ESPTOOL=/nonexistent shows the skips).
  if (process.env.ESPTOOL) candidates.push(process.env.ESPTOOL);
  else {
    for (const dir of (process.env.PATH ?? "").split(delimiter))
      if (dir) candidates.push(join(dir, "esptool"));
    candidates.push("/root/.local/bin/esptool");
  }
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const version = runsAsEsptool(c);
    if (version === undefined) continue;
    const server = join(dirname(c), "esp_rfc2217_server");
    return { path: c, version, rfc2217Server: existsSync(server) ? server : undefined };
  }
  return {
    path: undefined,
    version: "esptool not found ($ESPTOOL, PATH, /root/.local/bin/esptool)",
    rfc2217Server: undefined,
  };
}

let cached: EsptoolInfo | undefined;
export function esptool(): EsptoolInfo {
  cached ??= findEsptool();
  return cached;
}

/** The one-line skip reason for tests, or undefined when esptool is there. */
export function esptoolMissing(): string | undefined {
  return esptool().path ? undefined : `skipped: ${esptool().version}`;
}

/** No colours, no progress bars, no user config: output a test can read. */
export function esptoolEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", TERM: "dumb", ...extra };
  delete env.ESPTOOL_PORT;
  delete env.ESPTOOL_BAUD;
  delete env.ESPTOOL_CFGFILE;
  return env;
}

export interface EsptoolRun {
  status: number | null;
  /** stdout and stderr interleaved as esptool printed them. */
  output: string;
  ms: number;
}

/** Runs esptool with `args` in `cwd` (where no esptool.cfg lies); resolves when it exits. */
export function runEsptool(args: string[], cwd: string, timeoutMs = 120_000): Promise<EsptoolRun> {
  const path = esptool().path;
  if (!path) return Promise.reject(new Error(esptool().version));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { cwd, env: esptoolEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, output, ms: Date.now() - started });
    });
  });
}

/** "7e:d6:c0:19:c0:a4" as esptool prints a MAC. */
export function macString(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(":");
}
