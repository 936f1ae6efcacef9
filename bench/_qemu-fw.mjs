// Helper of bench/qemu.mjs (files starting with "_" are not benchmarks): finds ESP-IDF and
// Espressif's QEMU the way rsagen does (dist/), builds the real firmware with the compiled CLI
// (`rsagen build`) once per source state into build/qemu-fw/ (the folder and stamp scheme of
// test/qemu/real-fw.ts, so a bench and the tests reuse each other's builds of the same flags), and
// runs the compiled CLI without blocking the event loop (the boards run in the bench's process).
import { spawn } from "node:child_process";
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
import { homedir } from "node:os";
import { delimiter, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
export const CLI = join(REPO_ROOT, "bin", "rsagen");
export const QEMU_FW_ROOT = join(REPO_ROOT, "build", "qemu-fw");

const dist = (p) => import(new URL(`../dist/${p}`, import.meta.url).href);

/**
 * ESP-IDF and QEMU for the target: { ok, idf, qemu, toolchainPath? } or { ok: false, reason }.
 * For Xtensa targets the ESP-IDF environment must also hold xtensa-esp-elf-gcc (ESP-IDF finds its
 * toolchains on PATH after export.sh), else the build cannot run.
 */
export async function realEnv(target) {
  const { findIdf } = await dist("build/idf-env.js");
  const { findQemu } = await dist("sim/qemu/find.js");
  const env = { ...process.env };
  try {
    const idf = await findIdf({ env });
    const q = await findQemu({ target, env });
    if (target === "esp32" || target === "esp32s2" || target === "esp32s3") {
      const gcc = findOnPath("xtensa-esp-elf-gcc", idf.env?.PATH ?? env.PATH ?? "");
      if (!gcc) return { ok: false, reason: `${target}: no Xtensa toolchain here (no xtensa-esp-elf-gcc)` };
    }
    return { ok: true, reason: "", idf: idf.version.text, qemu: q.path };
  } catch (err) {
    return { ok: false, reason: err.message };
  }
}

function findOnPath(name, path) {
  const dirs = path.split(delimiter).filter(Boolean);
  // Where ESP-IDF's idf_tools.py installs it, even when export.sh did not put it on PATH.
  const tools = join(homedir(), ".espressif", "tools", "xtensa-esp-elf");
  if (existsSync(tools)) {
    for (const v of readdirSync(tools)) dirs.push(join(tools, v, "xtensa-esp-elf", "bin"));
  }
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

/**
 * Runs the compiled CLI; resolves { status, stdout, stderr, ms } (ms = wall time of the process).
 * onStdoutLine sees each stdout line as it arrives (JSON events under --json).
 */
export function cli(args, opts = {}) {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.ESPPORT;
    delete env.ESPBAUD;
    const t0 = performance.now();
    const p = spawn(process.execPath, [CLI, ...args], {
      env,
      cwd: opts.cwd ?? REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let partial = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    p.stdout.on("data", (d) => {
      stdout += d;
      if (!opts.onStdoutLine) return;
      partial += d;
      const lines = partial.split("\n");
      partial = lines.pop();
      for (const l of lines) if (l.trim()) opts.onStdoutLine(l, performance.now());
    });
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Every stdout line parsed as JSON (--json output). */
export function jsonLines(stdout) {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l));
}

function sourceDigest(extra) {
  const h = createHash("sha256").update(extra);
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(relative(REPO_ROOT, p)).update("\0").update(readFileSync(p)).update("\0");
    }
  };
  for (const d of ["firmware", "sdkconfig", "partitions"]) walk(join(REPO_ROOT, d));
  return h.digest("hex");
}

async function withLock(lock, fn) {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      if (Date.now() - statSync(lock).mtimeMs > 30 * 60_000) rmdirSync(lock);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmdirSync(lock);
  }
}

/**
 * `rsagen build --target <target> <flags> --build-dir build/qemu-fw`, unless that exact build of the
 * current firmware/, sdkconfig/ and partitions/ is there already. Resolves { dir, cached, seconds }.
 */
export async function buildReal(target, flags) {
  mkdirSync(QEMU_FW_ROOT, { recursive: true });
  const key = `${target} ${flags.join(" ")}`;
  const stampName = createHash("sha256").update(key).digest("hex").slice(0, 12);
  const stamp = join(QEMU_FW_ROOT, `${stampName}.stamp`);
  return withLock(join(QEMU_FW_ROOT, `${stampName}.lock`), async () => {
    const digest = sourceDigest(key);
    if (existsSync(stamp)) {
      const [dir, d] = readFileSync(stamp, "utf8").trim().split("\n");
      if (d === digest && dir && existsSync(join(dir, "rsagen.json")))
        return { dir, cached: true, seconds: 0 };
    }
    const r = await cli(["--json", "build", "--target", target, ...flags, "--build-dir", QEMU_FW_ROOT], {
      timeoutMs: 30 * 60_000,
    });
    if (r.status !== 0) throw new Error(`rsagen build ${key} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const last = r.stdout.trim().split("\n").pop() ?? "";
    const dir = JSON.parse(last).result.dir;
    writeFileSync(stamp, `${dir}\n${digest}\n`);
    return { dir, cached: false, seconds: r.ms / 1000 };
  });
}

/** A fresh copy of a flash file (and its eFuse file), for one board. */
export function copyFlash(from, to) {
  copyFileSync(from, to);
  if (existsSync(`${from}.efuse`)) copyFileSync(`${from}.efuse`, `${to}.efuse`);
  return to;
}
