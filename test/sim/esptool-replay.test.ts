/**
 * Replays Espressif's esptool (v5.3.0) as captured on the wire against the virtual board
 * (test/vectors/esptool-rfc2217/, provenance in its README), without esptool: the client side of
 * each RFC 2217 session is sent again to a fresh board with the same target, MAC seed and flash,
 * each chunk only once the board has sent at least as many bytes as it had at that point of the
 * capture, and never sooner after the previous chunk than it was sent then (so the reset lines
 * change with esptool's timing). The board's answers must match the capture byte for byte: the
 * UART stream (ROM banners, loader replies, boot log) and the Telnet/RFC 2217 answers each as one
 * sequence (how the two interleave depends on scheduling), and its state changes must be the
 * captured ones, including "download reset recognised" for the skewed classic reset.
 */
import { readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { SlipDecoder } from "../../src/rom/index.js";
import { TelnetParser } from "../../src/serial/telnet.js";
import { startBoard } from "../../src/sim/index.js";
import type { TargetName } from "../../src/targets.js";

const DIR = join(import.meta.dirname, "../vectors/esptool-rfc2217");

interface Meta {
  format: "rsagen-rfc2217-capture/1";
  session: string;
  esptool: string;
  command: string;
  exit: number;
  board: {
    target: TargetName;
    macSeed: string;
    resetCircuit: "auto-reset" | "usb-serial-jtag";
    preload: { addr: number; file: string } | null;
    holder: boolean;
  };
}
type Line = { t: number; d: "c2s" | "s2c"; hex: string } | { t: number; state: string; detail?: string };

function load(file: string): { meta: Meta; lines: Line[] } {
  const [first, ...rest] = readFileSync(join(DIR, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as unknown);
  return { meta: first as Meta, lines: rest as Line[] };
}

/** UART bytes and the Telnet commands, each in order, from one direction's raw stream. */
function split(raw: Buffer): { data: Buffer; commands: string[] } {
  const data: Buffer[] = [];
  const commands: string[] = [];
  for (const ev of new TelnetParser().feed(raw)) {
    if (ev.kind === "data") data.push(Buffer.from(ev.bytes));
    else if (ev.kind === "negotiate") commands.push(`neg ${ev.verb} ${ev.option}`);
    else if (ev.kind === "subnegotiation")
      commands.push(`sb ${ev.option} ${Buffer.from(ev.payload).toString("hex")}`);
    else commands.push(`cmd ${ev.code}`);
  }
  return { data: Buffer.concat(data), commands };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`${what()} (waited ${ms} ms)`);
    await sleep(2);
  }
}

const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith(".jsonl"))
  .sort();

describe("esptool's RFC 2217 sessions replayed against the virtual board", () => {
  it("the captures are there and small", () => {
    expect(FILES.length).toBeGreaterThanOrEqual(10);
    for (const f of FILES) expect(readFileSync(join(DIR, f)).length).toBeLessThan(300_000);
  });

  for (const file of FILES) {
    it.concurrent(`${file.replace(/\.jsonl$/, "")}: the board answers as captured`, async () => {
      const cleanup: Array<() => unknown> = [];
      try {
        await replay(file, cleanup);
      } finally {
        for (const c of cleanup.reverse()) await c();
      }
    }, 60_000);
  }
});

async function replay(file: string, cleanup: Array<() => unknown>): Promise<void> {
  const { meta, lines } = load(file);
  expect(meta.format).toBe("rsagen-rfc2217-capture/1");
  const { target, macSeed, resetCircuit, preload, holder } = meta.board;
  let flashImage: Uint8Array | undefined;
  if (preload) {
    flashImage = new Uint8Array(4 * 1024 * 1024).fill(0xff);
    flashImage.set(readFileSync(join(DIR, preload.file)), preload.addr);
  }
  const board = await startBoard({
    target,
    macSeed,
    resetCircuit,
    bootRetryMs: 60_000,
    ...(flashImage ? { flashImage } : {}),
  });
  cleanup.push(() => board.close());
  const states: string[] = [];
  board.on("state", (s, d) => states.push(d ? `${s} (${d})` : s));

  if (holder) {
    const h = net.connect(board.port, "127.0.0.1");
    h.on("data", () => undefined);
    await new Promise((r) => h.once("connect", r));
    await sleep(100);
    cleanup.push(() => h.destroy());
  }

  const sock = net.connect(board.port, "127.0.0.1");
  sock.setNoDelay(true);
  const rx: Buffer[] = [];
  let rxLen = 0;
  let closed = false;
  sock.on("data", (c: Buffer) => {
    rx.push(c);
    rxLen += c.length;
  });
  sock.on("close", () => {
    closed = true;
  });
  sock.on("error", () => undefined);
  cleanup.push(() => sock.destroy());
  await new Promise((r) => sock.once("connect", r));

  let capRx = 0;
  let prevCap: number | undefined;
  let prevReal = 0;
  const sent: Buffer[] = [];
  for (const l of lines) {
    if (!("d" in l)) continue;
    const bytes = Buffer.from(l.hex, "hex");
    if (l.d === "s2c") {
      capRx += bytes.length;
      continue;
    }
    const need = capRx;
    await until(
      () => rxLen >= need || closed,
      10_000,
      () =>
        `${file}: the board sent ${rxLen} bytes, the capture had ${need} before the client's chunk at ${l.t} ms`,
    );
    if (closed) break;
    if (prevCap !== undefined) {
      const gap = l.t - prevCap;
      const wait = prevReal + gap - performance.now();
      if (wait > 0) await sleep(wait);
    }
    prevCap = l.t;
    prevReal = performance.now();
    sent.push(bytes);
    sock.write(bytes);
  }
  await until(
    () => rxLen >= capRx || closed,
    10_000,
    () => `${file}: the board sent ${rxLen} bytes in all, the capture ${capRx}`,
  );
  const expectedStates = lines.flatMap((l) =>
    "state" in l ? [l.detail ? `${l.state} (${l.detail})` : l.state] : [],
  );
  await until(
    () => states.length >= expectedStates.length,
    5_000,
    () => `${file}: states ${JSON.stringify(states)}, captured ${JSON.stringify(expectedStates)}`,
  ).catch(() => undefined);
  sock.destroy();

  const captured = split(
    Buffer.concat(lines.flatMap((l) => ("d" in l && l.d === "s2c" ? [Buffer.from(l.hex, "hex")] : []))),
  );
  const got = split(Buffer.concat(rx));
  // Byte for byte: every UART byte and every Telnet answer the capture has, in order.
  expect(got.data.length).toBeGreaterThanOrEqual(captured.data.length);
  expect(got.data.subarray(0, captured.data.length).toString("hex")).toBe(captured.data.toString("hex"));
  expect(got.commands.slice(0, captured.commands.length)).toEqual(captured.commands);
  expect(states).toEqual(expectedStates);

  // The capture carries no flasher-stub code: every MEM_DATA frame's payload is zeros.
  const upload = split(Buffer.concat(sent)).data;
  for (const ev of new SlipDecoder(0x20000).push(upload)) {
    if (ev.kind !== "packet" || ev.packet[0] !== 0x00 || ev.packet[1] !== 0x07) continue;
    expect(ev.packet.subarray(24).every((b) => b === 0)).toBe(true);
  }
}
