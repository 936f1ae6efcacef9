/**
 * Frame codec of the rsagen device protocol (docs/protocol.md). Frames share the console UART with
 * ESP-IDF log text, so the decoder yields both frames and the bytes between them as console text.
 * Mirror of firmware/components/rsagen_proto/rsagen_proto.c; both pass test/vectors/protocol/.
 */

export const PROTO_VERSION = 1;
export const SYNC0 = 0xc1;
export const SYNC1 = 0xf5;
export const HEADER_LEN = 9;
export const CRC_LEN = 4;
export const OVERHEAD = HEADER_LEN + CRC_LEN;
export const MAX_PAYLOAD = 1024;
export const MAX_FRAME = OVERHEAD + MAX_PAYLOAD;
export const RESPONSE_FLAG = 0x80;

export interface Frame {
  version: number;
  /** Message type including RESPONSE_FLAG. */
  type: number;
  requestId: number;
  payload: Uint8Array;
}

export type DecodedItem = ({ kind: "frame" } & Frame) | { kind: "text"; bytes: Uint8Array };

export interface DecoderStats {
  frames: number;
  headerErrors: number;
  crcErrors: number;
  textBytes: number;
}

const CRC32_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC-32 IEEE 802.3 as zlib's crc32(); pass the previous result to continue. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC32_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-8/SMBUS: poly 0x07, init 0, not reflected. */
export function crc8(data: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < data.length; i++) {
    c ^= data[i]!;
    for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  }
  return c;
}

export interface EncodeOptions {
  /** Version byte; defaults to PROTO_VERSION. Other values exist for mismatch tests. */
  version?: number;
}

/** Builds one complete frame. Throws RangeError on an out-of-range field (a caller bug). */
export function encodeFrame(
  type: number,
  requestId: number,
  payload: Uint8Array = new Uint8Array(0),
  options: EncodeOptions = {},
): Uint8Array {
  const version = options.version ?? PROTO_VERSION;
  if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new RangeError(`bad frame type ${type}`);
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > 0xffff)
    throw new RangeError(`bad request id ${requestId}`);
  if (!Number.isInteger(version) || version < 1 || version > 0xff)
    throw new RangeError(`bad version ${version}`);
  if (payload.length > MAX_PAYLOAD)
    throw new RangeError(`payload of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
  const out = new Uint8Array(OVERHEAD + payload.length);
  const view = new DataView(out.buffer);
  out[0] = SYNC0;
  out[1] = SYNC1;
  out[2] = version;
  out[3] = type;
  view.setUint16(4, requestId, true);
  view.setUint16(6, payload.length, true);
  out[8] = crc8(out.subarray(2, 8));
  out.set(payload, HEADER_LEN);
  const end = HEADER_LEN + payload.length;
  view.setUint32(end, crc32(out.subarray(0, end)), true);
  return out;
}

type Check =
  | { verdict: "more" }
  | { verdict: "reject"; reason: "text" | "header" | "crc" }
  | { verdict: "frame" };

/**
 * Byte-at-a-time streaming decoder. A candidate frame starts at a SYNC0 byte; if it turns out not
 * to be a frame (wrong sync1, bad header check, bad CRC), only its first byte becomes text and the
 * scan restarts at the next byte, so a real frame hidden inside a false candidate is still found.
 */
export class FrameDecoder {
  readonly stats: DecoderStats = { frames: 0, headerErrors: 0, crcErrors: 0, textBytes: 0 };
  private readonly buf = new Uint8Array(MAX_FRAME);
  private n = 0;
  private textParts: Uint8Array[] = [];

  /** Feeds bytes and returns what they completed, in stream order (adjacent text merged). */
  push(bytes: Uint8Array): DecodedItem[] {
    const out: DecodedItem[] = [];
    for (let i = 0; i < bytes.length; ) {
      if (this.n === 0) {
        // Fast path: copy a run of text up to the next SYNC0 without touching the buffer.
        let j = i;
        while (j < bytes.length && bytes[j] !== SYNC0) j++;
        if (j > i) {
          this.emitText(bytes.subarray(i, j));
          i = j;
          continue;
        }
      }
      this.buf[this.n++] = bytes[i++]!;
      this.process(out, false);
    }
    this.endText(out);
    return out;
  }

  /** Hands out a partial candidate (end of stream or idle line) as text, finding any frame inside. */
  flush(): DecodedItem[] {
    const out: DecodedItem[] = [];
    this.process(out, true);
    this.endText(out);
    return out;
  }

  /** Bytes held back as a possible frame start. */
  get pending(): number {
    return this.n;
  }

  private process(out: DecodedItem[], flushing: boolean): void {
    while (this.n > 0) {
      const c = this.check();
      if (c.verdict === "more") {
        if (!flushing) return;
        this.reject();
      } else if (c.verdict === "frame") {
        const b = this.buf;
        const len = b[6]! | (b[7]! << 8);
        this.stats.frames++;
        this.endText(out);
        out.push({
          kind: "frame",
          version: b[2]!,
          type: b[3]!,
          requestId: b[4]! | (b[5]! << 8),
          payload: b.slice(HEADER_LEN, HEADER_LEN + len),
        });
        this.consume(OVERHEAD + len);
      } else {
        if (c.reason === "header") this.stats.headerErrors++;
        if (c.reason === "crc") this.stats.crcErrors++;
        this.reject();
      }
    }
  }

  /** Examines the buffered candidate; buf[0] is SYNC0 unless bytes were just shifted in. */
  private check(): Check {
    const b = this.buf;
    const n = this.n;
    if (b[0] !== SYNC0) return { verdict: "reject", reason: "text" };
    if (n < 2) return { verdict: "more" };
    if (b[1] !== SYNC1) return { verdict: "reject", reason: "text" };
    if (n < HEADER_LEN) return { verdict: "more" };
    const len = b[6]! | (b[7]! << 8);
    if (b[2] === 0 || len > MAX_PAYLOAD || crc8(b.subarray(2, 8)) !== b[8])
      return { verdict: "reject", reason: "header" };
    const total = OVERHEAD + len;
    if (n < total) return { verdict: "more" };
    const end = HEADER_LEN + len;
    const want = (b[end]! | (b[end + 1]! << 8) | (b[end + 2]! << 16) | (b[end + 3]! << 24)) >>> 0;
    if (crc32(b.subarray(0, end)) !== want) return { verdict: "reject", reason: "crc" };
    return { verdict: "frame" };
  }

  /** Emits buf[0] plus any following non-SYNC0 bytes as text and drops them. */
  private reject(): void {
    let k = 1;
    while (k < this.n && this.buf[k] !== SYNC0) k++;
    this.emitText(this.buf.slice(0, k));
    this.consume(k);
  }

  private consume(k: number): void {
    this.buf.copyWithin(0, k, this.n);
    this.n -= k;
  }

  /** Text is collected in parts and joined once per run (see endText), so long runs of
   * rejected candidates in noisy input stay linear. */
  private emitText(bytes: Uint8Array): void {
    this.stats.textBytes += bytes.length;
    if (bytes.length > 0) this.textParts.push(bytes.slice());
  }

  private endText(out: DecodedItem[]): void {
    if (this.textParts.length === 0) return;
    const parts = this.textParts;
    this.textParts = [];
    const bytes = parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts));
    out.push({ kind: "text", bytes });
  }
}

/** Convenience: decodes a whole byte string (then flushes), for tests and tools. */
export function decodeAll(bytes: Uint8Array): { items: DecodedItem[]; stats: DecoderStats } {
  const d = new FrameDecoder();
  const items = [...d.push(bytes), ...d.flush()];
  return { items, stats: d.stats };
}
