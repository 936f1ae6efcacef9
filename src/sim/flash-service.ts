/**
 * The board's flash, served to the host firmware on a byte stream (the app's file descriptor 3):
 * the firmware's key-slot partition lives in the same NOR flash as the bootloader and the app, so
 * what it writes survives resets and power loss, and flashing the app leaves it alone, as on a chip.
 * Protocol (firmware/components/rsagen_os/flash_posix.c), little-endian:
 *   request: u8 op, u32 address, u32 length, then `length` bytes for 'W'
 *   ops: 'I' size, 'R' read, 'W' program (AND, NOR semantics), 'E' erase sectors,
 *        'T' torn erase (sets `length` bytes to 0xFF: the firmware's power-cut knob, half an erase)
 *   answer: u8 status (0 ok, 1 bad request or out of range, 2 flash stuck), then the u32 size for
 *   'I' or the bytes for 'R'.
 */
import type { Readable, Writable } from "node:stream";
import type { MemoryFlash } from "./flash.js";

const HEADER = 9;
/** Largest transfer per request (the firmware sends at most a sector). */
const MAX_LEN = 0x10000;

export interface FlashServiceStats {
  reads: number;
  writes: number;
  erases: number;
}

/** Serves `flash` on the stream until stop() or the stream ends. */
export function serveFlash(
  input: Readable,
  output: Writable,
  flash: MemoryFlash,
): { stop(): void; stats: FlashServiceStats } {
  let buf: Buffer = Buffer.alloc(0);
  let stopped = false;
  const stats: FlashServiceStats = { reads: 0, writes: 0, erases: 0 };
  const answer = (status: number, data?: Uint8Array) => {
    if (stopped || output.destroyed) return;
    output.write(data ? Buffer.concat([Buffer.from([status]), data]) : Buffer.from([status]));
  };
  const onData = (chunk: Buffer) => {
    if (stopped) return;
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= HEADER) {
      const op = String.fromCharCode(buf[0]!);
      const addr = buf.readUInt32LE(1);
      const len = buf.readUInt32LE(5);
      if (len > MAX_LEN) {
        // A broken client: answer once and drop the connection's bytes.
        answer(1);
        buf = Buffer.alloc(0);
        return;
      }
      const need = HEADER + (op === "W" ? len : 0);
      if (buf.length < need) return;
      const payload = buf.subarray(HEADER, need);
      buf = buf.subarray(need);
      handle(op, addr, len, payload);
    }
  };
  const handle = (op: string, addr: number, len: number, payload: Buffer) => {
    switch (op) {
      case "I": {
        const size = Buffer.alloc(4);
        size.writeUInt32LE(flash.size);
        answer(0, size);
        return;
      }
      case "R": {
        stats.reads++;
        const data = flash.read(addr, len);
        if (data) answer(0, data);
        else answer(1);
        return;
      }
      case "W": {
        stats.writes++;
        const r = flash.program(addr, new Uint8Array(payload));
        answer(r === "ok" ? 0 : r === "stuck" ? 2 : 1);
        return;
      }
      case "E": {
        stats.erases++;
        if (addr % 0x1000 !== 0 || len % 0x1000 !== 0) return answer(1);
        answer(flash.erase(addr, len) === "ok" ? 0 : 1);
        return;
      }
      case "T":
        answer(flash.tornErase(addr, len) ? 0 : 1);
        return;
      default:
        answer(1);
    }
  };
  input.on("data", onData);
  input.on("error", () => undefined);
  output.on("error", () => undefined);
  return {
    stats,
    stop() {
      stopped = true;
      input.off("data", onData);
    },
  };
}
