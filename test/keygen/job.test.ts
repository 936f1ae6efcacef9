import { readdirSync, statSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { opensslCheck } from "../keys/fixtures.js";
import { cleanup, keygenAgainst, type Run } from "./helpers.js";

const runs: Run[] = [];
afterEach(() => {
  for (const r of runs.splice(0)) cleanup(r);
});
async function run(...args: Parameters<typeof keygenAgainst>): Promise<Run> {
  const r = await keygenAgainst(...args);
  runs.push(r);
  return r;
}

describe("runKeygen against a fake board over RFC 2217", () => {
  it("generates, reads back, verifies, writes and releases a 2048-bit key", async () => {
    const r = await run({ keygenDelayMs: 400 }, { bits: 2048 });
    expect(r.error).toBeUndefined();
    const res = r.result!;
    expect(res.bits).toBe(2048);
    expect(res.released).toBe(true);
    expect(r.board.releases).toEqual([res.jobId]);
    expect(r.board.jobState).toBe(0);
    expect(opensslCheck(res.files.privatePath!)).toMatch(/Key is valid/);
    expect(statSync(res.files.privatePath!).mode & 0o777).toBe(0o600);
    expect(res.fingerprint).toMatch(/^SHA256:/);
    // Progress from the device and a heartbeat round trip were reported while it worked.
    expect(r.events.some((e) => e.kind === "progress" && e.rngCalls > 0)).toBe(true);
    expect(res.heartbeat.count).toBeGreaterThan(0);
    expect(r.events.some((e) => e.kind === "heartbeat")).toBe(true);
  });

  it("resets a silent board into the app and waits for its BOOT event", async () => {
    const r = await run({ mode: "silent", modeAfterReset: "rsagen" });
    expect(r.error).toBeUndefined();
    expect(r.board.resets).toBe(1);
    expect(r.events.some((e) => e.kind === "booted")).toBe(true);
    expect(r.events.some((e) => e.kind === "boot-log" && /ESP-ROM/.test(e.line))).toBe(true);
  });

  it("finds DONE by polling STATUS when the event is lost", async () => {
    const r = await run({ dropDone: true });
    expect(r.error).toBeUndefined();
    expect(r.result!.released).toBe(true);
  });

  it("on timeout cancels the job and waits for the board to confirm it was released", async () => {
    const r = await run({ hangJob: true }, { timeoutMs: 600 });
    expect(r.error?.code).toBe("E_KEYGEN_TIMEOUT");
    expect(r.error?.exitCode).toBe(33);
    expect(r.error?.message).toMatch(/cancelled on the board and its memory released/);
    expect(r.board.cancels).toHaveLength(1);
    expect(r.board.jobState).toBe(0);
    expect(r.events.some((e) => e.kind === "released" && e.confirmed)).toBe(true);
    expect(readdirSync(r.dir)).toEqual([]);
  });

  it("cancels when interrupted (AbortSignal)", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 400);
    const r = await run({ hangJob: true }, { signal: ac.signal });
    expect(r.error?.code).toBe("E_KEYGEN_FAILED");
    expect(r.error?.message).toMatch(/interrupted/);
    expect(r.board.cancels).toHaveLength(1);
  });

  it("an interrupt before KEYGEN starts nothing on the board", async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await run({}, { signal: ac.signal });
    expect(r.error?.code).toBe("E_KEYGEN_FAILED");
    expect(r.board.requests).not.toContain(0x03);
  });

  it.each(["running", "done"] as const)(
    "refuses a busy board (job %s) with E_DEVICE_BUSY and leaves its job alone",
    async (state) => {
      const r = await run({ preexistingJob: state });
      expect(r.error?.code).toBe("E_DEVICE_BUSY");
      expect(r.error?.exitCode).toBe(32);
      expect(r.board.cancels).toEqual([]);
      expect(r.board.releases).toEqual([]);
      expect(r.board.requests).not.toContain(0x03);
    },
  );

  it("reports firmware built without crypto-extra as E_DEVICE_UNSUPPORTED before any KEYGEN", async () => {
    const r = await run({ cryptoExtra: false });
    expect(r.error?.code).toBe("E_DEVICE_UNSUPPORTED");
    expect(r.error?.message).toMatch(/crypto-extra/);
    expect(r.board.requests).not.toContain(0x03);
  });

  it("stops on a protocol version mismatch without sending anything but HELLO", async () => {
    const r = await run({ protoVersion: 2 });
    expect(r.error?.code).toBe("E_DEVICE_PROTOCOL");
    expect(r.error?.message).toMatch(/protocol v2/);
    expect(new Set(r.board.requests)).toEqual(new Set([0x01]));
  });

  it("reports a board reset mid-generation as E_DEVICE_RESET and writes nothing", async () => {
    const r = await run({ hangJob: true, resetAfterMs: 300 });
    expect(r.error?.code).toBe("E_DEVICE_RESET");
    expect(r.error?.exitCode).toBe(37);
    expect(readdirSync(r.dir)).toEqual([]);
  });

  it("retries chunks whose frames were damaged on the wire and still writes a valid key", async () => {
    const r = await run({ corruptReads: 2, noise: true }, { bits: 2048 });
    expect(r.error).toBeUndefined();
    expect(opensslCheck(r.result!.files.privatePath!)).toMatch(/Key is valid/);
  });

  it("never writes key bytes that differ from the board's SHA-256", async () => {
    const r = await run({ corruptKeyBytes: true });
    expect(r.error?.code).toBe("E_KEY_VERIFY_FAILED");
    expect(r.error?.message).toMatch(/SHA-256/);
    expect(readdirSync(r.dir)).toEqual([]);
    // The finished job was still freed on the board.
    expect(r.board.jobState).toBe(0);
  });

  it("never writes a pair whose halves do not belong together", async () => {
    const r = await run({ mismatchedPair: true });
    expect(r.error?.code).toBe("E_KEY_VERIFY_FAILED");
    expect(readdirSync(r.dir)).toEqual([]);
    expect(r.board.jobState).toBe(0);
  });

  it("warns about the slow Mbed TLS 3.6.7", async () => {
    const r = await run({ mbedtlsVersionNumber: 0x03060700 });
    expect(r.error).toBeUndefined();
    expect(r.events.some((e) => e.kind === "warning" && /3\.6\.7/.test(e.message))).toBe(true);
  });
});

describe("boards without rsagen firmware", () => {
  it.each([
    ["silent", "E_NO_FIRMWARE", /no rsagen firmware answers/],
    ["download", "E_NO_FIRMWARE", /download mode/],
    ["no-app", "E_NO_FIRMWARE", /no valid app/],
    ["foreign", "E_FOREIGN_FIRMWARE", /does not speak the rsagen protocol/],
    ["garbage", "E_DEVICE_PROTOCOL", /neither rsagen frames nor console text/],
  ] as const)("%s board: %s", async (mode, code, message) => {
    const r = await run({ mode });
    expect(r.error?.code).toBe(code);
    expect(r.error?.message).toMatch(message);
    expect(r.error?.hint).toBeTruthy();
    expect(readdirSync(r.dir)).toEqual([]);
  });
});

describe("existing files", () => {
  it("with --prefix refuses before the board starts a job (E_OUTPUT_EXISTS)", async () => {
    const { writeFileSync, mkdtempSync, rmSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "rsagen-exists-"));
    writeFileSync(join(dir, "k.key.pem"), "old");
    const r = await run(
      {},
      { save: { out: dir, prefix: "k", format: "pem", private: "pkcs8", publicOnly: false, force: false } },
    );
    expect(r.error?.code).toBe("E_OUTPUT_EXISTS");
    expect(r.board.requests).not.toContain(0x03);
    rmSync(dir, { recursive: true, force: true });
  });
});
