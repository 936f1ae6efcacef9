/**
 * The real firmware on the QEMU board, for the tests of test/qemu: finds ESP-IDF and Espressif's QEMU
 * the way rsagen itself does (a user's install: idf.py on PATH, IDF_PATH or ~/esp/esp-idf;
 * qemu-system-* on PATH or in ~/.espressif/tools), builds the firmware with `rsagen build` once per
 * source state (build/qemu-fw/, reused while firmware/, sdkconfig/ and partitions/ are unchanged),
 * flashes it into a QEMU board with `rsagen flash`, and records which real-firmware tests ran or why
 * they were skipped (build/real-firmware/<test file>.json, printed by .ci/run).
 */
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { delimiter, join, relative } from "node:path";
import { findIdf } from "../../src/build/idf-env.js";
import { findQemu } from "../../src/sim/qemu/find.js";
import type { TargetName } from "../../src/targets.js";
import { runCliAsync } from "../flash/helpers/cli.js";
import { REPO_ROOT } from "../helpers/run-cli.js";

export const QEMU_FW_ROOT = join(REPO_ROOT, "build", "qemu-fw");
const REPORT_DIR = join(REPO_ROOT, "build", "real-firmware");

export interface RealEnv {
  ok: boolean;
  /** Why the real-firmware tests cannot run here (one line), when !ok. */
  reason: string;
  idf?: string;
  qemu?: string;
}

/** The compilers ESP-IDF v5.x calls per architecture (v5.1 still named the Xtensa one per chip). */
const COMPILERS: Record<string, string[]> = {
  riscv32: ["riscv32-esp-elf-gcc"],
  xtensa: ["xtensa-esp-elf-gcc", "xtensa-esp32-elf-gcc"],
};

function onPath(names: string[], path: string): boolean {
  return path.split(delimiter).some((d) => d && names.some((n) => existsSync(join(d, n))));
}

/**
 * ESP-IDF (not Docker: QEMU runs here) with the target's toolchain, and QEMU with the target's
 * machine, or the reason (one line) why not.
 */
export async function realEnv(target: TargetName): Promise<RealEnv> {
  const env = { ...process.env };
  if (target === "esp32" && env.RSAGEN_QEMU_ESP32 !== "1") {
    // Measured here: the ESP32 machine (two Xtensa cores, -icount 3) needs over 60 s of wall time
    // from reset to ESP-IDF's app_main, so every test would wait minutes per boot. rsagen build
    // and rsagen flash work on it (docs/qemu.md); RSAGEN_QEMU_ESP32=1 runs the tests anyway.
    return {
      ok: false,
      reason:
        "the QEMU ESP32 boots ESP-IDF's app too slowly under -icount 3 (over 60 s); RSAGEN_QEMU_ESP32=1 runs it",
    };
  }
  try {
    const idf = await findIdf({ env });
    const q = await findQemu({ target, env });
    const path = (idf.kind === "idf-path" ? idf.env.PATH : env.PATH) ?? "";
    const compilers = COMPILERS[q.target.arch]!;
    if (!onPath(compilers, path)) {
      return {
        ok: false,
        reason: `ESP-IDF ${idf.version.text} has no ${compilers[0]} for ${target} (install.sh ${target})`,
      };
    }
    return { ok: true, reason: "", idf: idf.version.text, qemu: q.path };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/** One file per test file in build/real-firmware/: whether it ran (with what), or why it skipped. */
export function report(file: string, env: RealEnv): void {
  mkdirSync(REPORT_DIR, { recursive: true });
  const entry = env.ok
    ? { file, ran: true, idf: env.idf, qemu: env.qemu }
    : { file, ran: false, reason: env.reason };
  writeFileSync(join(REPORT_DIR, `${file.replace(/[/\\]/g, "_")}.json`), `${JSON.stringify(entry)}\n`);
}

export type CliRun = Awaited<ReturnType<typeof runCliAsync>>;

/** Runs the compiled CLI without blocking the event loop (boards run in this process). */
export function cli(args: string[], opts: { timeoutMs?: number; cwd?: string } = {}): Promise<CliRun> {
  return runCliAsync(args, { timeoutMs: opts.timeoutMs ?? 120_000, cwd: opts.cwd ?? REPO_ROOT });
}

function sourceDigest(extra: string): string {
  const h = createHash("sha256").update(extra);
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(relative(REPO_ROOT, p)).update("\0").update(readFileSync(p)).update("\0");
    }
  };
  for (const d of ["firmware", "sdkconfig", "partitions"]) walk(join(REPO_ROOT, d));
  return h.digest("hex");
}

function withLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  const take = async (): Promise<void> => {
    for (;;) {
      try {
        mkdirSync(lock);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (Date.now() - statSync(lock).mtimeMs > 30 * 60_000) rmdirSync(lock);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };
  return take().then(() => fn().finally(() => rmdirSync(lock)));
}

/**
 * Builds the firmware with `rsagen build` (flags as a user gives them, e.g. ["--task-wdt", "1"])
 * into build/qemu-fw/, unless that exact build of the current sources is there already.
 * Returns the build folder.
 */
export async function buildReal(target: TargetName, flags: string[]): Promise<string> {
  mkdirSync(QEMU_FW_ROOT, { recursive: true });
  const key = `${target} ${flags.join(" ")}`;
  const stampName = createHash("sha256").update(key).digest("hex").slice(0, 12);
  const stamp = join(QEMU_FW_ROOT, `${stampName}.stamp`);
  return withLock(join(QEMU_FW_ROOT, `${stampName}.lock`), async () => {
    const digest = sourceDigest(key);
    if (existsSync(stamp)) {
      const [dir, d] = readFileSync(stamp, "utf8").trim().split("\n");
      if (d === digest && dir && existsSync(join(dir, "rsagen.json"))) return dir;
    }
    const r = await cli(["--json", "build", "--target", target, ...flags, "--build-dir", QEMU_FW_ROOT], {
      timeoutMs: 20 * 60_000,
    });
    const last = r.stdout.trim().split("\n").pop() ?? "";
    if (r.status !== 0) throw new Error(`rsagen build ${key} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const dir = (JSON.parse(last) as { result: { dir: string } }).result.dir;
    writeFileSync(stamp, `${dir}\n${digest}\n`);
    return dir;
  });
}

/** A fresh copy of a flash file, for one board. */
export function copyFlash(from: string, to: string): string {
  copyFileSync(from, to);
  const efuse = `${from}.efuse`;
  if (existsSync(efuse)) copyFileSync(efuse, `${to}.efuse`);
  return to;
}
