// The C test runner (firmware/host/tests) in the normal, sanitizer and no-crypto-extra builds, and
// independent verification of the 2048- and 4096-bit keys it generated with the keygen job.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFirmware } from "./fw-build.js";
import { verifyRsaKeyPair } from "./verify-key.js";

const outDir = mkdtempSync(join(tmpdir(), "rsagen-fw-keys-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));
beforeAll(() => {
  for (const v of ["normal", "asan", "nocrypto"] as const) buildFirmware(v);
});

function runRunner(
  dir: string,
  args: string[],
): { passed: number; failed: number; out: string; status: number | null } {
  const r = spawnSync(join(dir, "rsagen-fw-tests"), args, {
    encoding: "utf8",
    timeout: 300_000,
    env: {
      ...process.env,
      ASAN_OPTIONS: "detect_leaks=1:abort_on_error=0",
      UBSAN_OPTIONS: "print_stacktrace=1",
    },
  });
  const out = `${r.stdout}${r.stderr}`;
  const m = /(\d+) passed, (\d+) failed/.exec(r.stdout);
  return { passed: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? -1), out, status: r.status };
}

describe("firmware C test runner", () => {
  it("passes in the normal build and its keys verify with node:crypto and openssl", {
    timeout: 300_000,
  }, () => {
    const r = runRunner(buildFirmware("normal"), ["--out", outDir, "--big"]);
    expect(r.out).not.toContain("FAIL");
    expect(r.failed).toBe(0);
    expect(r.passed).toBeGreaterThan(100);
    expect(r.status).toBe(0);
    for (const bits of [2048, 4096]) {
      verifyRsaKeyPair(
        readFileSync(join(outDir, `key${bits}.der`)),
        readFileSync(join(outDir, `key${bits}.pub.der`)),
        bits,
      );
    }
  });

  it("passes under AddressSanitizer and UndefinedBehaviorSanitizer (cancel, OOM, fuzz, no leaks)", {
    timeout: 300_000,
  }, () => {
    const r = runRunner(buildFirmware("asan"), []);
    expect(r.out).not.toMatch(/ERROR: (Address|Leak)Sanitizer|runtime error:/);
    expect(r.failed).toBe(0);
    expect(r.passed).toBeGreaterThan(80);
    expect(r.status).toBe(0);
  });

  it("passes with crypto-extra compiled out (keygen answers UNSUPPORTED)", { timeout: 120_000 }, () => {
    const r = runRunner(buildFirmware("nocrypto"), []);
    expect(r.out).not.toContain("FAIL");
    expect(r.failed).toBe(0);
    expect(r.passed).toBeGreaterThan(10);
    expect(r.status).toBe(0);
  });
});
