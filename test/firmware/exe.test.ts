// rsagen-fw as the virtual board runs it (contract C2): console on stdin/stdout with ESP-IDF style
// log lines and frames interleaved, exit statuses, protocol behaviour, bad input.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeFrame } from "../../src/device/frame.js";
import { buildFirmware } from "./fw-build.js";
import { errorCode, FwProcess, keygenPayload, readPart, T, u32 } from "./fw-process.js";
import { verifyRsaKeyPair } from "./verify-key.js";

const RESP = 0x80;
const ERR = { UNKNOWN_TYPE: 1, BAD_ARGS: 2, BUSY: 3, UNSUPPORTED: 5, VERSION: 9 };

// Build the variants up front (hook timeout 120 s), not inside a test's own time budget.
beforeAll(() => {
  for (const v of ["normal", "asan", "nocrypto"] as const) buildFirmware(v);
});

function start(variant: "normal" | "asan" | "nocrypto", target = "esp32c3", extra: string[] = []): FwProcess {
  return new FwProcess(join(buildFirmware(variant), "rsagen-fw"), ["--target", target, ...extra], {
    ASAN_OPTIONS: "detect_leaks=1",
  });
}

describe("rsagen-fw console and lifecycle", () => {
  it("prints an ESP-IDF style startup log, then the BOOT event, and exits 0 on stdin EOF", async () => {
    const fw = start("normal", "esp32s3");
    try {
      const boot = await fw.event(T.BOOT);
      expect(fw.text).toMatch(/^I \(\d+\) cpu_start: Multicore app\r\n/);
      expect(fw.text).toMatch(
        /I \(\d+\) rsagen: rsagen 0\.1\.0 on esp32s3, mbed TLS 2\.28\.\d+, crypto-extra on, hw-mpi off/,
      );
      expect(boot.payload[0]).toBe(1);
      const features = boot.payload[2]! | (boot.payload[3]! << 8);
      expect(features & 0x01).toBe(0x01); // CRYPTO_EXTRA
      expect(features & 0x02).toBe(0); // no hardware MPI on the host
      expect(features & 0x08).toBe(0x08); // HOST_BUILD
      expect(features & 0x10).toBe(0x10); // esp32s3 can reboot into download mode
      expect(Buffer.from(boot.payload.subarray(8)).toString("latin1")).toContain("esp32s3");
      expect(await fw.close()).toBe(0);
    } finally {
      fw.kill();
    }
  });

  it("answers HELLO with versions, bits range and the watchdog timeout", async () => {
    const fw = start("normal", "esp32c6", ["--wdt-ms", "150"]);
    try {
      await fw.event(T.BOOT);
      const h = await fw.request(T.HELLO);
      expect(h.type).toBe(T.HELLO | RESP);
      const v = new DataView(h.payload.buffer, h.payload.byteOffset);
      expect(v.getUint16(4, true)).toBe(1024);
      expect(v.getUint16(6, true)).toBe(4096);
      expect(v.getUint32(8, true) >>> 16).toBe(0x021c); // Mbed TLS 2.28 on the host
      expect(v.getUint32(20, true)).toBe(150);
      const strings = Buffer.from(h.payload.subarray(24)).toString("latin1");
      expect(strings).toContain("esp32c6");
      expect(strings).toContain("host");
      expect(strings).toContain("mbed TLS 2.28");
    } finally {
      fw.kill();
    }
  });

  it("exits 3 on REBOOT, 4 on REBOOT into download mode, and refuses download mode on esp32", async () => {
    for (const [target, mode, status] of [
      ["esp32c3", 0, 3],
      ["esp32c3", 1, 4],
    ] as const) {
      const fw = start("normal", target);
      await fw.event(T.BOOT);
      expect((await fw.request(T.REBOOT, Uint8Array.of(mode))).type).toBe(T.REBOOT | RESP);
      expect(await fw.exited).toBe(status);
    }
    const fw = start("normal", "esp32");
    try {
      await fw.event(T.BOOT);
      expect(errorCode(await fw.request(T.REBOOT, Uint8Array.of(1)))).toBe(ERR.UNSUPPORTED);
      expect(await fw.close()).toBe(0);
    } finally {
      fw.kill();
    }
  });

  it("rejects bad command lines with status 2", () => {
    const exe = join(buildFirmware("normal"), "rsagen-fw");
    expect(spawnSync(exe, [], { encoding: "utf8" }).status).toBe(2);
    expect(spawnSync(exe, ["--target", "esp8266"], { encoding: "utf8" }).status).toBe(2);
    expect(spawnSync(exe, ["--target", "esp32", "--wdt-ms", "x"], { encoding: "utf8" }).status).toBe(2);
  });
});

describe("rsagen-fw keygen over the protocol", () => {
  it("generates a 2048-bit key, reports progress, reads it back and it verifies", {
    timeout: 60_000,
  }, async () => {
    const fw = start("normal", "esp32c3");
    try {
      await fw.event(T.BOOT);
      const acc = await fw.request(T.KEYGEN, keygenPayload(2048));
      expect(acc.type).toBe(T.KEYGEN | RESP);
      expect(errorCode(await fw.request(T.KEYGEN, keygenPayload(2048)))).toBe(ERR.BUSY);
      const done = await fw.event(T.DONE, 30_000);
      expect(done.payload[0]).toBe(2);
      expect(u32(done, 4)).toBe(u32(acc, 0)); // job id
      expect(u32(done, 16)).toBeGreaterThan(0); // RNG calls
      const priv = await readPart(fw, 0, u32(done, 24));
      const pub = await readPart(fw, 1, u32(done, 28));
      const { createHash } = await import("node:crypto");
      expect(
        createHash("sha256")
          .update(priv)
          .digest()
          .equals(Buffer.from(done.payload.subarray(32, 64))),
      ).toBe(true);
      expect(
        createHash("sha256")
          .update(pub)
          .digest()
          .equals(Buffer.from(done.payload.subarray(64, 96))),
      ).toBe(true);
      verifyRsaKeyPair(priv, pub, 2048);
      const rel = await fw.request(T.RELEASE);
      expect(rel.payload[0]).toBe(2);
      expect((await fw.request(T.STATUS)).payload[0]).toBe(0);
    } finally {
      fw.kill();
    }
  });

  it("cancels a running 4096-bit job and answers only after it is freed", { timeout: 60_000 }, async () => {
    const fw = start("asan", "esp32");
    try {
      await fw.event(T.BOOT);
      expect((await fw.request(T.KEYGEN, keygenPayload(4096))).type).toBe(T.KEYGEN | RESP);
      const cancel = await fw.request(T.CANCEL, undefined, 30_000);
      expect(cancel.type).toBe(T.CANCEL | RESP);
      expect(cancel.payload[0]).toBe(1); // was RUNNING
      const st = await fw.request(T.STATUS);
      expect(st.payload[0]).toBe(0); // IDLE: the job is gone
      expect((await fw.request(T.KEYGEN, keygenPayload(1024))).type).toBe(T.KEYGEN | RESP);
      await fw.event(T.DONE, 30_000);
      expect(await fw.close()).toBe(0); // EOF with a finished job: freed, and ASan saw no leak
      expect(fw.text).not.toMatch(/Sanitizer|runtime error/);
    } finally {
      fw.kill();
    }
  });

  it("answers bad requests with ERROR frames", async () => {
    const fw = start("normal");
    try {
      await fw.event(T.BOOT);
      expect(errorCode(await fw.request(T.KEYGEN, keygenPayload(1000)))).toBe(ERR.BAD_ARGS);
      expect(errorCode(await fw.request(T.KEYGEN, keygenPayload(2048, 65536)))).toBe(ERR.BAD_ARGS);
      expect(errorCode(await fw.request(T.KEYGEN, Uint8Array.of(0, 8)))).toBe(ERR.BAD_ARGS);
      expect(errorCode(await fw.request(0x3d))).toBe(ERR.UNKNOWN_TYPE);
      const id = 999;
      fw.write(encodeFrame(T.PING, id, Uint8Array.of(1), { version: 7 }));
      expect(errorCode(await fw.answer(id))).toBe(ERR.VERSION);
    } finally {
      fw.kill();
    }
  });

  it("with crypto-extra compiled out, reports it and answers KEYGEN with UNSUPPORTED", async () => {
    const fw = start("nocrypto");
    try {
      const boot = await fw.event(T.BOOT);
      expect(boot.payload[2]! & 0x01).toBe(0);
      expect(fw.text).toContain("crypto-extra off");
      expect(errorCode(await fw.request(T.KEYGEN, keygenPayload(2048)))).toBe(ERR.UNSUPPORTED);
      expect(await fw.close()).toBe(0);
    } finally {
      fw.kill();
    }
  });
});

describe("rsagen-fw bad input (sanitizer build)", () => {
  it("survives random bytes, truncated, oversized and corrupt frames, and still answers", {
    timeout: 60_000,
  }, async () => {
    const fw = start("asan", "esp32c3");
    try {
      await fw.event(T.BOOT);
      const good = encodeFrame(T.PING, 500, Uint8Array.of(1, 2, 3));
      const corrupt = Uint8Array.from(good);
      corrupt[corrupt.length - 1]! ^= 0xff;
      const oversized = Uint8Array.from(good);
      oversized[6] = 0xff; // length 0x..ff > 1024 with a now-wrong header check
      oversized[7] = 0xff;
      fw.write(corrupt);
      fw.write(good.subarray(0, 7)); // truncated
      fw.write(oversized);
      for (let i = 0; i < 64; i++) {
        const junk = randomBytes(8192);
        for (let j = 0; j < junk.length; j += 37) junk[j] = 0xc1; // plenty of false sync starts
        fw.write(junk);
      }
      const r = await fw.request(T.PING, Uint8Array.of(9, 9), 20_000);
      expect(r.type).toBe(T.PING | RESP);
      expect(Array.from(r.payload)).toEqual([9, 9]);
      expect(fw.frames.some((f) => f.requestId === 500)).toBe(false);
      expect(await fw.close()).toBe(0);
      expect(fw.text).not.toMatch(/Sanitizer|runtime error/);
    } finally {
      fw.kill();
    }
  });
});
