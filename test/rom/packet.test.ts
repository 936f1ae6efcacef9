import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeCommand,
  decodeResponse,
  encodeCommand,
  encodeDataBlock,
  encodeResponse,
  Op,
  opName,
  responseStatus,
  SYNC_PAYLOAD,
} from "../../src/rom/packet.js";

const DIR = join(import.meta.dirname, "../vectors/rom-transcripts");

describe("ROM packet codec", () => {
  it("encodes SYNC exactly as esptool sent it", () => {
    const t = JSON.parse(readFileSync(join(DIR, "esp32c3-chip-id.json"), "utf8")) as {
      events: Array<{ packet: string }>;
    };
    expect(Buffer.from(encodeCommand(Op.SYNC, SYNC_PAYLOAD)).toString("hex")).toBe(t.events[0]!.packet);
  });

  it("re-encodes every host and chip packet of the no-compress write session bit-exactly", () => {
    const t = JSON.parse(readFileSync(join(DIR, "esp32c3-write-flash-no-compress.json"), "utf8")) as {
      events: Array<{ dir: string; packet: string }>;
    };
    let dataBlocks = 0;
    for (const e of t.events) {
      const p = Uint8Array.from(Buffer.from(e.packet, "hex"));
      if (e.dir === "host->chip") {
        const c = decodeCommand(p);
        if (!c.ok) throw new Error(c.reason);
        expect(Buffer.from(encodeCommand(c.value.op, c.value.data, c.value.checksum)).toString("hex")).toBe(
          e.packet,
        );
        if (c.value.op === Op.FLASH_DATA) {
          const block = c.value.data.subarray(16);
          const seq = new DataView(c.value.data.buffer, c.value.data.byteOffset).getUint32(4, true);
          const enc = encodeDataBlock(seq, block);
          expect(enc.checksum).toBe(c.value.checksum);
          expect(Buffer.from(enc.data)).toEqual(Buffer.from(c.value.data));
          dataBlocks++;
        }
      } else {
        const r = decodeResponse(p);
        if (!r.ok) throw new Error(r.reason);
        expect(Buffer.from(encodeResponse(r.value.op, r.value.value, r.value.data)).toString("hex")).toBe(
          e.packet,
        );
        expect(responseStatus(r.value, r.value.op === Op.SPI_FLASH_MD5 ? 32 : 0)).toEqual({
          status: 0,
          error: 0,
        });
      }
    }
    expect(dataBlocks).toBe(4);
  });

  it("rejects short packets, wrong direction and length mismatches", () => {
    expect(decodeCommand(Uint8Array.from([0, 8, 0]))).toMatchObject({ ok: false });
    expect(decodeCommand(encodeResponse(8, 0, new Uint8Array(2)))).toMatchObject({ ok: false });
    const bad = encodeCommand(Op.READ_REG, new Uint8Array(4));
    bad[2] = 9;
    expect(decodeCommand(bad)).toMatchObject({
      ok: false,
      reason: expect.stringContaining("length field 9"),
    });
    expect(decodeResponse(encodeCommand(1))).toMatchObject({ ok: false });
  });

  it("names opcodes", () => {
    expect(opName(0x13)).toBe("SPI_FLASH_MD5");
    expect(opName(0x77)).toBe("0x77");
  });
});
