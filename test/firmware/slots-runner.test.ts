// The key-slot store's C tests (firmware/host/tests/test_slots.c) in the normal and the sanitizer
// build: records, names, a full partition, damaged and newer-format records, and a power cut at
// every flash write of store, replace, delete and the reclaim at mount, on plain and "encrypted"
// in-memory NOR flash.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildFirmware } from "./fw-build.js";

function run(
  dir: string,
  exe = "rsagen-slots-tests",
): { passed: number; failed: number; out: string; status: number | null } {
  const r = spawnSync(join(dir, exe), [], {
    encoding: "utf8",
    timeout: 120_000,
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

describe("key-slot store (C, in-memory NOR flash)", () => {
  it.each(["normal", "asan"] as const)("passes in the %s build", { timeout: 300_000 }, (variant) => {
    const r = run(buildFirmware(variant));
    expect(r.out).not.toMatch(/FAIL|ERROR: (Address|Leak)Sanitizer|runtime error:/);
    expect(r.failed).toBe(0);
    expect(r.status).toBe(0);
    // 20 power-cut sweeps (5 operations x plain/encrypted x half/no write), each cut checked.
    expect(r.out.match(/^power cut sweep: /gm)?.length).toBe(20);
    expect(r.passed).toBeGreaterThan(2000);
  });
});

// The slot requests through the real command loop on an in-memory key partition: KEEP (BUSY for a
// second one while it runs, the same answer for a resend, NOT_ALLOWED for the private key),
// SLOT_LIST/INFO/DELETE, SIGN (PSS, PKCS#1 v1.5) and CSR verified with Mbed TLS, bad names and
// subjects, unknown slots, a full partition, cancel, and the heap back to zero after every job.
describe("key-slot protocol through the command loop (C, Mbed TLS checks)", () => {
  it.each(["normal", "asan"] as const)("passes in the %s build", { timeout: 300_000 }, (variant) => {
    const r = run(buildFirmware(variant), "rsagen-slot-protocol-tests");
    expect(r.out).not.toMatch(/FAIL|ERROR: (Address|Leak)Sanitizer|runtime error:/);
    expect(r.failed).toBe(0);
    expect(r.status).toBe(0);
    expect(r.passed).toBeGreaterThan(100);
  });
});
