/**
 * rsagen keygen end to end against the virtual board running the real host firmware (mbedtls):
 * keys of every size verified by node:crypto and openssl, timeout + cancel, busy board, firmware
 * without crypto-extra, a reset mid-generation, a noisy line, two boards at once, an unflashed board.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeviceClient } from "../../src/device/client.js";
import { duplexFromTransport } from "../../src/device/duplex.js";
import type { RsagenError } from "../../src/errors.js";
import { ClientBoard } from "../../src/keygen/client-board.js";
import { type KeygenEvent, type KeygenOptions, type KeygenResult, runKeygen } from "../../src/keygen/job.js";
import { keygenOnPorts } from "../../src/keygen/multi.js";
import { keygenPorts } from "../../src/keygen/ports.js";
import { openTransport } from "../../src/serial/open-transport.js";
import type { Board, BoardFaults } from "../../src/sim/index.js";
import { addUsbTty, fakeSysfs } from "../flash/helpers/fake-sysfs.js";
import { opensslCheck } from "../keys/fixtures.js";
import {
  boardJobState,
  bootBoard,
  buildFirmware,
  erasedFlash,
  type Firmware,
  foreignFirmware,
  tempDir,
} from "./sim-fixture.js";

const work = tempDir("rsagen-keygen-e2e-");
let fw: Firmware;
let fwNoCx: Firmware;
let fwInline: Firmware;
const boards: Board[] = [];
const outDirs: Array<{ dir: string; remove: () => void }> = [];

beforeAll(async () => {
  [fw, fwNoCx, fwInline] = await Promise.all([
    buildFirmware(work.dir, "esp32c3", true),
    buildFirmware(work.dir, "esp32c3", false),
    buildFirmware(work.dir, "esp32c3", true, true),
  ]);
}, 300_000);
afterEach(async () => {
  for (const b of boards.splice(0)) await b.close();
  for (const d of outDirs.splice(0)) d.remove();
});
afterAll(() => work.remove());

interface Outcome {
  result?: KeygenResult;
  error?: RsagenError;
  events: KeygenEvent[];
  dir: string;
}

async function keygenOn(
  board: Board,
  opts: Partial<KeygenOptions> = {},
  onEvent: (e: KeygenEvent) => void = () => {},
): Promise<Outcome> {
  const out = tempDir("rsagen-keys-");
  outDirs.push(out);
  const t = await openTransport(board.url);
  const b = new ClientBoard(t);
  const events: KeygenEvent[] = [];
  try {
    const result = await runKeygen(
      b,
      {
        bits: 1024,
        exponent: 65537,
        timeoutMs: 120_000,
        heartbeatMs: 200,
        ...opts,
        save: { out: out.dir, prefix: "k", format: "pem", private: "pkcs8", publicOnly: false, force: false },
      },
      (e) => {
        events.push(e);
        onEvent(e);
      },
    );
    return { result, events, dir: out.dir };
  } catch (err) {
    return { error: err as RsagenError, events, dir: out.dir };
  } finally {
    await b.close();
    await t.close();
  }
}

/** Waits until the firmware runs (bytes sent to a booting chip are lost, as on a real one). */
async function appRunning(board: Board): Promise<void> {
  for (let i = 0; i < 200 && board.chipState !== "app"; i++) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 300));
}

async function start(
  f: Firmware,
  faults?: BoardFaults,
  wdtMs?: number,
  extra: { pty?: boolean } = {},
): Promise<Board> {
  const b = await bootBoard(f, faults, wdtMs, extra);
  boards.push(b);
  return b;
}

describe("keygen on the virtual board (host firmware, mbedtls)", () => {
  it.each([1024, 2048, 3072, 4096])(
    "%i-bit key: verified by node:crypto, openssl pkey -check passes, released on the board",
    async (bits) => {
      const board = await start(fw);
      const o = await keygenOn(board, { bits });
      expect(o.error).toBeUndefined();
      const r = o.result!;
      expect(r.bits).toBe(bits);
      expect(r.released).toBe(true);
      expect(opensslCheck(r.files.privatePath!)).toMatch(/Key is valid/);
      expect(opensslCheck(r.files.publicPath, { pub: true })).toMatch(/Key is valid/);
      expect(await boardJobState(board)).toBe("idle");
    },
    180_000,
  );

  it("a requested exponent (3) is what the board generates and the verifier checks", async () => {
    const board = await start(fw);
    const o = await keygenOn(board, { bits: 2048, exponent: 3 });
    expect(o.error).toBeUndefined();
    expect(o.result!.exponent).toBe(3);
    expect(opensslCheck(o.result!.files.privatePath!)).toMatch(/Key is valid/);
  }, 120_000);

  it("reports progress and a heartbeat while the board works", async () => {
    const board = await start(fw);
    const o = await keygenOn(board, { bits: 4096, heartbeatMs: 40 });
    expect(o.error).toBeUndefined();
    const r = o.result!;
    // Generation time varies with the primes found; assert what the run's length allowed:
    // a PING every 40 ms, a PROGRESS event every 500 ms (docs/protocol.md).
    if (r.deviceElapsedMs > 150) expect(r.heartbeat.count).toBeGreaterThan(0);
    if (r.deviceElapsedMs > 700)
      expect(o.events.some((e) => e.kind === "progress" && e.rngCalls > 0)).toBe(true);
    expect(r.heartbeat.maxRttMs).toBeLessThan(1000);
  }, 180_000);

  it("timeout: cancels on the board and waits for the release confirmation", async () => {
    const board = await start(fw);
    // 40 ms: far below the shortest 4096-bit generation seen on the host (~200 ms).
    const o = await keygenOn(board, { bits: 4096, timeoutMs: 40 });
    expect(o.error?.code).toBe("E_KEYGEN_TIMEOUT");
    expect(o.error?.message).toMatch(/cancelled on the board and its memory released/);
    expect(o.events.some((e) => e.kind === "released" && e.confirmed)).toBe(true);
    expect(readdirSync(o.dir)).toEqual([]);
    expect(await boardJobState(board)).toBe("idle");
  }, 60_000);

  it("busy board: a job left by another client gives E_DEVICE_BUSY and is left alone", async () => {
    const board = await start(fw);
    const t = await openTransport(board.url);
    const other = new DeviceClient(duplexFromTransport(t));
    await other.hello();
    await other.keygen({ bits: 1024, exponent: 65537 });
    other.close();
    await t.close();
    const o = await keygenOn(board);
    expect(o.error?.code).toBe("E_DEVICE_BUSY");
    expect(await boardJobState(board)).not.toBe("idle");
  }, 60_000);

  it("firmware built without crypto-extra: E_DEVICE_UNSUPPORTED naming crypto-extra", async () => {
    const board = await start(fwNoCx);
    const o = await keygenOn(board);
    expect(o.error?.code).toBe("E_DEVICE_UNSUPPORTED");
    expect(o.error?.message).toMatch(/crypto-extra/);
    expect(readdirSync(o.dir)).toEqual([]);
  }, 60_000);

  it("a reset (EN pulse) mid-generation: E_DEVICE_RESET, no file written", async () => {
    // The fault counts bytes that reach the chip: HELLO (13) + KEYGEN (21), and the reset comes
    // with the first byte of the first heartbeat PING, 40 ms into a 4096-bit job.
    const board = await start(fw, { resetAfterRxBytes: 13 + 21 + 1 });
    await appRunning(board);
    const o = await keygenOn(board, { bits: 4096, heartbeatMs: 40 });
    expect(o.error?.code).toBe("E_DEVICE_RESET");
    expect(o.error?.exitCode).toBe(37);
    expect(readdirSync(o.dir)).toEqual([]);
  }, 60_000);

  it("a firmware crash mid-generation (the app process dies, the board restarts it): E_DEVICE_RESET", async () => {
    const board = await start(fw);
    const o = await keygenOn(board, { bits: 4096 }, (e) => {
      if (e.kind === "started" && board.appPid !== undefined) process.kill(board.appPid, "SIGKILL");
    });
    expect(o.error?.code).toBe("E_DEVICE_RESET");
    expect(o.error?.message).toMatch(/restarted/);
    expect(readdirSync(o.dir)).toEqual([]);
  }, 60_000);

  it("the inline-keygen negative control: the board stops answering, its watchdog resets it -> E_DEVICE_RESET", async () => {
    const board = await start(fwInline, undefined, 100);
    const o = await keygenOn(board, { bits: 4096, heartbeatMs: 100 });
    expect(o.error?.code).toBe("E_DEVICE_RESET");
    expect(o.error?.message).toMatch(/task watchdog/);
    expect(readdirSync(o.dir)).toEqual([]);
  }, 60_000);

  it("line noise and bit flips both ways: the key written is valid, or nothing is written", async () => {
    const board = await start(fw, { noiseRate: 0.002, bitFlipRate: 0.0005, direction: "both", seed: 7 });
    const o = await keygenOn(board, { bits: 2048 });
    if (o.result) {
      expect(opensslCheck(o.result.files.privatePath!)).toMatch(/Key is valid/);
    } else {
      expect(readdirSync(o.dir)).toEqual([]);
      expect(o.error?.code).toMatch(/^E_/);
    }
    // With these rates the retries should win; a failure here means the retry logic regressed.
    expect(o.error).toBeUndefined();
  }, 120_000);

  it("two boards in parallel: each writes its own verified pair", async () => {
    const [a, b] = [await start(fw), await start(fw)];
    const out = tempDir("rsagen-keys-");
    outDirs.push(out);
    const seen = new Set<string>();
    const outcomes = await keygenOnPorts(
      [a.url, b.url],
      {
        bits: 2048,
        exponent: 65537,
        timeoutMs: 120_000,
        save: {
          out: out.dir,
          prefix: "board",
          format: "pem",
          private: "pkcs1",
          publicOnly: false,
          force: false,
        },
      },
      (port, e) => {
        if (e.kind === "started") seen.add(port);
      },
    );
    expect(seen.size).toBe(2);
    for (const o of outcomes) {
      expect(o.ok).toBe(true);
      if (o.ok) expect(opensslCheck(o.result.files.privatePath!)).toMatch(/Key is valid/);
    }
    expect(readdirSync(out.dir)).toHaveLength(4);
  }, 180_000);

  it("--all: two boards found by USB VID/PID (fake sysfs, nodes link to the boards' ptys) among a non-ESP tty: each writes its own verified pair", async () => {
    const [a, b] = [
      await start(fw, undefined, undefined, { pty: true }),
      await start(fw, undefined, undefined, { pty: true }),
    ];
    const fs = await fakeSysfs();
    outDirs.push({ dir: fs.root, remove: () => rmSync(fs.root, { recursive: true, force: true }) });
    await addUsbTty(fs, "ttyUSB0", "1-1", { vid: 0x10c4, pid: 0xea60 }, a.ptyPath); // CP210x bridge
    await addUsbTty(fs, "ttyACM0", "1-2", { vid: 0x303a, pid: 0x1001 }, b.ptyPath); // USB-Serial/JTAG
    await addUsbTty(fs, "ttyUSB1", "1-3", { vid: 0x067b, pid: 0x2303 }); // not an ESP bridge
    const ports = await keygenPorts({ all: true, named: [] }, { sysRoot: fs.sysRoot, devRoot: fs.devRoot });
    expect([...ports].sort()).toEqual([join(fs.devRoot, "ttyACM0"), join(fs.devRoot, "ttyUSB0")]);
    const out = tempDir("rsagen-keys-");
    outDirs.push(out);
    const outcomes = await keygenOnPorts(
      ports,
      {
        bits: 1024,
        exponent: 65537,
        timeoutMs: 120_000,
        save: {
          out: out.dir,
          prefix: "board",
          format: "pem",
          private: "pkcs8",
          publicOnly: false,
          force: false,
        },
      },
      () => {},
    );
    expect(outcomes.map((o) => [o.port, o.ok])).toEqual(ports.map((p) => [p, true]));
    for (const o of outcomes)
      if (o.ok) expect(opensslCheck(o.result.files.privatePath!)).toMatch(/Key is valid/);
    expect(readdirSync(out.dir).sort()).toEqual([
      "board-ttyACM0.key.pem",
      "board-ttyACM0.pub.pem",
      "board-ttyUSB0.key.pem",
      "board-ttyUSB0.pub.pem",
    ]);
  }, 180_000);

  it("an unflashed board: E_NO_FIRMWARE, nothing written", async () => {
    const board = await start(erasedFlash("esp32c3"));
    const o = await keygenOn(board, { bootWaitMs: 3000 });
    expect(o.error?.code).toBe("E_NO_FIRMWARE");
    expect(o.error?.message).toMatch(/unflashed/);
    expect(readdirSync(o.dir)).toEqual([]);
  }, 60_000);

  it("another project's app on the board: E_FOREIGN_FIRMWARE, nothing written", async () => {
    const board = await start(foreignFirmware(work.dir, "esp32c3"));
    const o = await keygenOn(board, { bootWaitMs: 3000 });
    expect(o.error?.code).toBe("E_FOREIGN_FIRMWARE");
    expect(o.error?.exitCode).toBe(39);
    expect(readdirSync(o.dir)).toEqual([]);
  }, 60_000);

  it("a board left in ROM download mode is reset into the app, then generates", async () => {
    const board = await start(fw);
    // esptool's classic reset into the bootloader: EN low (RTS), then EN released while GPIO0 is
    // held low (DTR); on the two-transistor circuit DTR=RTS=1 means both high, so go directly.
    const t = await openTransport(board.url);
    await t.setSignals({ dtr: false, rts: true });
    await new Promise((r) => setTimeout(r, 100));
    await t.setSignals({ dtr: true, rts: false });
    await new Promise((r) => setTimeout(r, 100));
    await t.setSignals({ dtr: false, rts: false });
    await new Promise((r) => setTimeout(r, 100));
    expect(board.chipState).toBe("download");
    await t.close();
    const o = await keygenOn(board, { bits: 1024 });
    expect(o.error).toBeUndefined();
    expect(o.events.some((e) => e.kind === "reset")).toBe(true);
    expect(o.events.some((e) => e.kind === "connected" && e.reset)).toBe(true);
  }, 60_000);
});
