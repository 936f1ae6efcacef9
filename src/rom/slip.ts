/**
 * SLIP framing as the ESP ROM loader and the flasher stub use it (esptool serial-protocol.rst,
 * "Low Level Protocol"): every packet starts and ends with 0xC0; inside, 0xC0 is sent as DB DC
 * and 0xDB as DB DD. Bytes outside a frame (boot log text, noise) are not packets.
 */

export const SLIP_END = 0xc0;
export const SLIP_ESC = 0xdb;
export const SLIP_ESC_END = 0xdc;
export const SLIP_ESC_ESC = 0xdd;

/** Wraps one packet in a SLIP frame (both delimiters included). */
export function slipEncode(packet: Uint8Array): Uint8Array {
  let extra = 0;
  for (const b of packet) if (b === SLIP_END || b === SLIP_ESC) extra++;
  const out = new Uint8Array(packet.length + extra + 2);
  let o = 0;
  out[o++] = SLIP_END;
  for (const b of packet) {
    if (b === SLIP_END) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_END;
    } else if (b === SLIP_ESC) {
      out[o++] = SLIP_ESC;
      out[o++] = SLIP_ESC_ESC;
    } else {
      out[o++] = b;
    }
  }
  out[o++] = SLIP_END;
  return out;
}

export type SlipEvent =
  | { kind: "packet"; packet: Uint8Array }
  /** A frame that could not be decoded: an invalid escape, or longer than the limit. */
  | { kind: "bad-frame"; reason: "bad-escape" | "too-long"; length: number }
  /** Bytes seen outside any frame (console text, line noise). */
  | { kind: "noise"; bytes: Uint8Array };

/**
 * Streaming SLIP decoder: feed it chunks as they arrive (frames split or merged arbitrarily)
 * and get back whole packets. Empty frames (C0 C0, used as resync) produce nothing.
 */
export class SlipDecoder {
  private buf: number[] = [];
  private inFrame = false;
  private escaped = false;
  private broken: "bad-escape" | "too-long" | undefined;
  private noise: number[] = [];

  constructor(private readonly maxPacket = 0x10000) {}

  /** Forget any partial frame (after a reset of either side). */
  reset(): void {
    this.buf = [];
    this.inFrame = false;
    this.escaped = false;
    this.broken = undefined;
    this.noise = [];
  }

  push(chunk: Uint8Array): SlipEvent[] {
    const events: SlipEvent[] = [];
    for (const b of chunk) {
      if (!this.inFrame) {
        if (b === SLIP_END) {
          this.flushNoise(events);
          this.inFrame = true;
          this.buf = [];
          this.escaped = false;
          this.broken = undefined;
        } else {
          this.noise.push(b);
        }
        continue;
      }
      if (b === SLIP_END) {
        if (this.broken) {
          events.push({ kind: "bad-frame", reason: this.broken, length: this.buf.length });
        } else if (this.escaped) {
          events.push({ kind: "bad-frame", reason: "bad-escape", length: this.buf.length });
        } else if (this.buf.length > 0) {
          events.push({ kind: "packet", packet: Uint8Array.from(this.buf) });
        } else {
          // C0 C0: an empty frame. The closing C0 of one frame may equally be the opening of the
          // next, so stay inside a frame.
          continue;
        }
        // A frame's closing delimiter: the next byte starts outside a frame unless it is C0.
        this.inFrame = false;
        this.buf = [];
        this.escaped = false;
        this.broken = undefined;
        continue;
      }
      if (this.broken) continue;
      if (this.escaped) {
        this.escaped = false;
        if (b === SLIP_ESC_END) this.buf.push(SLIP_END);
        else if (b === SLIP_ESC_ESC) this.buf.push(SLIP_ESC);
        else this.broken = "bad-escape";
      } else if (b === SLIP_ESC) {
        this.escaped = true;
      } else {
        this.buf.push(b);
      }
      if (this.buf.length > this.maxPacket) {
        this.broken = "too-long";
        this.buf = [];
      }
    }
    this.flushNoise(events);
    return events;
  }

  private flushNoise(events: SlipEvent[]): void {
    if (this.noise.length > 0) {
      events.push({ kind: "noise", bytes: Uint8Array.from(this.noise) });
      this.noise = [];
    }
  }
}
