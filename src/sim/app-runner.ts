/**
 * Runs the host executable found in flash as the board's application (contract C2): exactly the
 * flashed bytes, written to a private temp file (dir 0700, file 0700), started as
 * `<exe> --target <t> [--wdt-ms N] --reset-reason R [--flash-fd 3]` with stdin/stdout as the console
 * UART (R is the esp_reset_reason_t the firmware reports, as esp_reset_reason() would on the chip).
 * With a flash, the board's flash is served on the app's fd 3 (flash-service.ts), so the firmware's
 * key slots live in the same flash as everything else. Removed again on exit.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type { TargetName } from "../targets.js";
import type { MemoryFlash } from "./flash.js";
import { serveFlash } from "./flash-service.js";

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
  /** The board's flash, served to the app on its fd 3 (key slots). */
  flash?: MemoryFlash;
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
    ...(o.flash ? ["--flash-fd", "3"] : []),
  ];
  let child: ChildProcess;
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  try {
    child = spawn(path, args, {
      stdio: o.flash ? ["pipe", "pipe", "inherit", "pipe"] : ["pipe", "pipe", "inherit"],
      env: o.env ? { ...process.env, ...o.env } : process.env,
    });
  } catch (err) {
    cleanup();
    throw err;
  }
  child.stdout!.on("data", (d: Buffer) => onOutput(new Uint8Array(d.buffer, d.byteOffset, d.length)));
  child.stdin!.on("error", () => undefined); // the app may exit while we write
  // An extra 'pipe' is a socket pair: one duplex stream (Node child_process docs, options.stdio).
  const flashLink = child.stdio[3] as Duplex | null | undefined;
  const service = o.flash && flashLink ? serveFlash(flashLink, flashLink, o.flash) : undefined;
  const exited = new Promise<AppExit>((resolve) => {
    let done = false;
    const finish = (e: AppExit) => {
      if (done) return;
      done = true;
      service?.stop();
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
      // Power is gone: a flash request still in the pipe never reaches the flash.
      service?.stop();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    exited,
  };
}
