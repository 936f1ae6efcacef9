import { crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  crc8,
  crc32,
  type DecodedItem,
  encodeFrame,
  FrameDecoder,
  MAX_PAYLOAD,
  OVERHEAD,
} from "../../src/device/frame.js";
import { xorshift32 } from "../helpers/xorshift.js";
import { type Expect, loadFrameVectors } from "./protocol-vectors.js";

const { frames, streams } = loadFrameVectors();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Feeds in the given chunk sizes, flushes, and merges adjacent text items. */
function decodeChunked(bytes: Uint8Array, chunk: (i: number) => number) {
  const d = new FrameDecoder();
  const items: DecodedItem[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, chunk(i));
    items.push(...d.push(bytes.subarray(i, i + n)));
    i += n;
  }
  items.push(...d.flush());
  const merged: Expect[] = [];
  for (const it of items) {
    const last = merged[merged.length - 1];
    if (it.kind === "text") {
      if (last?.kind === "text") last.bytes = Buffer.concat([last.bytes, it.bytes]);
      else merged.push({ kind: "text", bytes: it.bytes });
    } else {
      merged.push({
        kind: "frame",
        version: it.version,
        type: it.type,
        requestId: it.requestId,
        payload: it.payload,
      });
    }
  }
  return { items: merged, stats: d.stats, pending: d.pending };
}

const render = (xs: Expect[]) =>
  xs.map((x) =>
    x.kind === "text"
      ? `text ${hex(x.bytes)}`
      : `frame ${x.version} ${x.type} ${x.requestId} ${hex(x.payload)}`,
  );

describe("checksums", () => {
  it("match the catalogue check values and zlib", () => {
    const check = new TextEncoder().encode("123456789");
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc8(check)).toBe(0xf4); // CRC-8/SMBUS check value
    const data = new Uint8Array(Buffer.from("incremental crc across two calls"));
    expect(crc32(data.subarray(10), crc32(data.subarray(0, 10)))).toBe(zlibCrc32(data));
  });
});

describe("frame vectors", () => {
  it("has vectors", () => expect(frames.length).toBeGreaterThan(20));
  for (const v of frames) {
    it(`${v.name}: encodes to the vector bytes and decodes back`, () => {
      expect(hex(encodeFrame(v.type, v.id, v.payload, { version: v.version }))).toBe(hex(v.bytes));
      // Independent check of the trailer against node:zlib and of the header check byte.
      const end = v.bytes.length - 4;
      expect(Buffer.from(v.bytes).readUInt32LE(end)).toBe(zlibCrc32(v.bytes.subarray(0, end)));
      expect(v.bytes[8]).toBe(crc8(v.bytes.subarray(2, 8)));
      const d = new FrameDecoder();
      const items = d.push(v.bytes);
      expect(items).toHaveLength(1);
      const f = items[0];
      expect(f?.kind).toBe("frame");
      if (f?.kind !== "frame") return;
      expect([f.version, f.type, f.requestId, hex(f.payload)]).toEqual([
        v.version,
        v.type,
        v.id,
        hex(v.payload),
      ]);
      expect(d.pending).toBe(0);
    });
  }
});

describe("stream vectors", () => {
  it("has vectors", () => expect(streams.length).toBeGreaterThan(25));
  for (const s of streams) {
    it(`${s.name}: same result whole, byte by byte and in odd chunks`, () => {
      const want = render(s.expects);
      let seed = 7;
      const modes: Array<(i: number) => number> = [
        () => s.bytes.length,
        () => 1,
        () => {
          seed = (seed * 1103515245 + 12345) >>> 0;
          return 1 + (seed % 97);
        },
      ];
      for (const mode of modes) {
        const r = decodeChunked(s.bytes, mode);
        expect(render(r.items)).toEqual(want);
        expect(r.pending).toBe(0);
        const [frames, headerErrors, crcErrors, textBytes] = s.stats;
        if (frames !== null) expect(r.stats.frames).toBe(frames);
        if (headerErrors !== null) expect(r.stats.headerErrors).toBe(headerErrors);
        if (crcErrors !== null) expect(r.stats.crcErrors).toBe(crcErrors);
        if (textBytes !== null) expect(r.stats.textBytes).toBe(textBytes);
      }
    });
  }
});

describe("encoder limits", () => {
  it("rejects payloads over the maximum and bad fields", () => {
    expect(encodeFrame(0x02, 1, new Uint8Array(MAX_PAYLOAD))).toHaveLength(MAX_PAYLOAD + OVERHEAD);
    expect(() => encodeFrame(0x02, 1, new Uint8Array(MAX_PAYLOAD + 1))).toThrow(RangeError);
    expect(() => encodeFrame(0x100, 1)).toThrow(RangeError);
    expect(() => encodeFrame(0x02, 0x10000)).toThrow(RangeError);
    expect(() => encodeFrame(0x02, 1, undefined, { version: 0 })).toThrow(RangeError);
  });
});

describe("fuzz", () => {
  const rnd = xorshift32(0x9e3779b9); // reproducible

  it("random bytes: never throws, every frame re-encodes to its bytes, nothing is lost", () => {
    for (let round = 0; round < 40; round++) {
      const parts: Uint8Array[] = [];
      let sent = 0;
      for (let k = 0; k < 30; k++) {
        const r = rnd() % 4;
        if (r === 0) {
          const p = new Uint8Array(rnd() % 300).map(() => rnd() & 0xff);
          let f = encodeFrame(0x82, 1 + (rnd() % 65535), p);
          if (rnd() % 3 === 0) {
            f = f.slice();
            f[rnd() % f.length]! ^= 1 << (rnd() % 8); // corrupt
          } else sent++;
          parts.push(f);
        } else {
          // Noise biased towards the sync bytes and plausible header bytes.
          const n = rnd() % 200;
          const b = new Uint8Array(n).map(() => {
            const x = rnd();
            return x % 5 === 0 ? 0xc1 : x % 7 === 0 ? 0xf5 : x % 11 === 0 ? 1 : x & 0xff;
          });
          parts.push(b);
        }
      }
      const stream = Buffer.concat(parts);
      const r = decodeChunked(stream, () => 1 + (rnd() % 64));
      // Conservation: text plus re-encoded frames, in order, rebuild the input exactly.
      const rebuilt = Buffer.concat(
        r.items.map((it) =>
          it.kind === "text"
            ? it.bytes
            : encodeFrame(it.type, it.requestId, it.payload, { version: it.version }),
        ),
      );
      expect(rebuilt.equals(stream)).toBe(true);
      // Every intact frame was found (random noise may add frames only with a 2^-40 chance).
      expect(r.stats.frames).toBeGreaterThanOrEqual(sent);
    }
  });

  it("pure random bytes never yield a frame", () => {
    const d = new FrameDecoder();
    let frames = 0;
    for (let i = 0; i < 200; i++) {
      const b = new Uint8Array(4096).map(() => rnd() & 0xff);
      for (const it of d.push(b)) if (it.kind === "frame") frames++;
    }
    for (const it of d.flush()) if (it.kind === "frame") frames++;
    expect(frames).toBe(0);
    expect(d.stats.textBytes).toBe(200 * 4096);
  });
});
