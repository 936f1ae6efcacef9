/**
 * Builds the host firmware (firmware/host, contract C2) once per variant for all test files:
 * a directory lock makes parallel vitest workers wait for one build instead of racing it.
 * Build trees live in build/fw-test-<variant>/ (gitignored) and are reused incrementally.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export type FwVariant = "normal" | "asan" | "nocrypto" | "inline";

const ROOT = resolve(import.meta.dirname, "../..");
const OPTIONS: Record<FwVariant, string[]> = {
  normal: [],
  asan: ["-DRSAGEN_SANITIZE=ON"],
  nocrypto: ["-DRSAGEN_CRYPTO_EXTRA=OFF"],
  inline: ["-DRSAGEN_INLINE_KEYGEN=ON"],
};
const LOCK_STALE_MS = 10 * 60_000;

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withLock<T>(lockDir: string, fn: () => T): T {
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > LOCK_STALE_MS) rmdirSync(lockDir);
      } catch {
        // the holder released it meanwhile
      }
      sleep(200);
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(lockDir);
  }
}

/** Returns the build directory of a variant, configuring and building it if needed. */
export function buildFirmware(variant: FwVariant): string {
  const dir = join(ROOT, "build", `fw-test-${variant}`);
  mkdirSync(join(ROOT, "build"), { recursive: true });
  withLock(`${dir}.lock`, () => {
    if (!existsSync(join(dir, "CMakeCache.txt"))) {
      execFileSync("cmake", ["-S", join(ROOT, "firmware/host"), "-B", dir, ...OPTIONS[variant]], {
        stdio: "pipe",
      });
    }
    execFileSync("cmake", ["--build", dir, "-j", "2"], { stdio: "pipe" });
  });
  return dir;
}
