/**
 * Runs the host executable found in flash as the board's application (contract C2): exactly the
 * flashed bytes, written to a private temp file (dir 0700, file 0700), started as
 * `<exe> --target <t> [--wdt-ms N] --reset-reason R` with stdin/stdout as the console UART (R is the
 * esp_reset_reason_t the firmware reports, as esp_reset_reason() would on the chip). Removed again
 * on exit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TargetName } from "../targets.js";

export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningApp {
  readonly pid: number | undefined;
  write(bytes: Uint8Array): void;
  /** Stops the app at once (reset / power loss): no goodbye, like pulling EN low. */
  kill(): void;
  readonly exited: Promise<AppExit>;
}

export interface AppOptions {
  target: TargetName;
  wdtMs?: number;
  /** esp_reset_reason_t value (1 power-on, 3 software, 4 panic, 6 task watchdog). */
  resetReason: number;
  /** Extra environment (e.g. RSAGEN_FW_SEED for reproducible keys in tests and benchmarks). */
  env?: Record<string, string>;
}

export function startApp(exe: Uint8Array, o: AppOptions, onOutput: (bytes: Uint8Array) => void): RunningApp {
  const dir = mkdtempSync(join(tmpdir(), "rsagen-sim-app-"));
  const path = join(dir, "rsagen-fw");
  writeFileSync(path, exe, { mode: 0o700 });
  const args = [
    "--target",
    o.target,
    ...(o.wdtMs !== undefined ? ["--wdt-ms", String(o.wdtMs)] : []),
    "--reset-reason",
    String(o.resetReason),
  ];
  let child: ChildProcess;
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    child = spawn(path, args, {
      stdio: ["pipe", "pipe", "inherit"],
      env: o.env ? { ...process.env, ...o.env } : process.env,
    });
  } catch (err) {
    cleanup();
    throw err;
  }
  child.stdout!.on("data", (d: Buffer) => onOutput(new Uint8Array(d.buffer, d.byteOffset, d.length)));
  child.stdin!.on("error", () => undefined); // the app may exit while we write
  const exited = new Promise<AppExit>((resolve) => {
    let done = false;
    const finish = (e: AppExit) => {
      if (done) return;
      done = true;
      cleanup();
      resolve(e);
    };
    child.once("exit", (code, signal) => finish({ code, signal }));
    child.once("error", () => finish({ code: null, signal: null }));
  });
  return {
    pid: child.pid,
    write: (bytes) => {
      if (child.stdin && !child.stdin.destroyed) child.stdin.write(bytes);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    exited,
  };
}
