/** Per-command behaviour of the virtual chip's loader: ROM and flasher-stub personalities. */
import { createHash } from "node:crypto";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  decodeResponse,
  encodeCommand,
  encodeDataBlock,
  Op,
  type RomResponse,
  SlipDecoder,
  SYNC_PAYLOAD,
  slipEncode,
  u32le,
} from "../../src/rom/index.js";
import { MemoryFlash } from "../../src/sim/flash.js";
import { jedecId } from "../../src/sim/registers.js";
import { type LoaderAction, RomLoader } from "../../src/sim/rom-loader.js";
import { TARGETS, type TargetName } from "../../src/targets.js";

function board(target: TargetName = "esp32c3", size = 4 * 1024 * 1024) {
  const flash = new MemoryFlash(size);
  const mac = Uint8Array.from([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
  const loader = new RomLoader({ target: TARGETS[target], flash, mac });
  const send = (
    op: number,
    data: Uint8Array = new Uint8Array(0),
    chk = 0,
  ): { actions: LoaderAction[]; packets: Uint8Array[] } => {
    const actions = loader.receive(slipEncode(encodeCommand(op, data, chk)));
    const packets: Uint8Array[] = [];
    const dec = new SlipDecoder();
    for (const a of actions)
      if (a.kind === "send")
        for (const e of dec.push(a.bytes)) if (e.kind === "packet") packets.push(e.packet);
    return { actions, packets };
  };
  const resp = (op: number, data?: Uint8Array, chk?: number): RomResponse => {
    const { packets } = send(op, data, chk);
    expect(packets.length).toBeGreaterThanOrEqual(1);
    const r = decodeResponse(packets[0]!);
    if (!r.ok) throw new Error(r.reason);
    return r.value;
  };
  const runStub = () => {
    const code = new Uint8Array(64).fill(0x13);
    expect(resp(Op.MEM_BEGIN, u32le(code.length, 1, 0x1800, 0x40380000)).data[0]).toBe(0);
    const blk = encodeDataBlock(0, code);
    expect(resp(Op.MEM_DATA, blk.data, blk.checksum).data[0]).toBe(0);
    const { packets } = send(Op.MEM_END, u32le(0, 0x40380004));
    expect(packets.map((p) => Buffer.from(p).toString("latin1"))[1]).toBe("OHAI");
    expect(loader.isStub).toBe(true);
  };
  return { flash, loader, send, resp, runStub };
}

describe("ROM personality", () => {
  it("answers SYNC 8 times with the sync magic as value and 4 status bytes", () => {
    const b = board();
    const { packets } = b.send(Op.SYNC, SYNC_PAYLOAD);
    expect(packets).toHaveLength(8);
    expect(Buffer.from(packets[0]!).toString("hex")).toBe("010804000707122000000000");
  });

  it("GET_SECURITY_INFO: 12 bytes on S2, chip id on S3/C3/C6, unsupported on ESP32", () => {
    expect(board("esp32s2").resp(Op.GET_SECURITY_INFO).data).toHaveLength(12 + 4);
    for (const t of ["esp32s3", "esp32c3", "esp32c6"] as const) {
      const d = board(t).resp(Op.GET_SECURITY_INFO).data;
      expect(d).toHaveLength(24);
      expect(new DataView(d.buffer, d.byteOffset).getUint32(12, true)).toBe(TARGETS[t].chipId);
    }
    const r = board("esp32").resp(Op.GET_SECURITY_INFO);
    expect([...r.data]).toEqual([1, 5, 0, 0]);
  });

  it("reads the chip magic, the per-board MAC words and RDID through the SPI registers", () => {
    const b = board("esp32", 8 * 1024 * 1024);
    expect(b.resp(Op.READ_REG, u32le(0x40001000)).value).toBe(0x00f01d83);
    expect(b.resp(Op.READ_REG, u32le(0x3ff5a004)).value).toBe(0x22334455);
    expect(b.resp(Op.READ_REG, u32le(0x3ff5a008)).value & 0xffff).toBe(0x0211);
    const base = 0x3ff42000;
    b.resp(Op.WRITE_REG, u32le(base + 0x24, 0x7000009f, 0xffffffff, 0));
    b.resp(Op.WRITE_REG, u32le(base + 0x80, 0, 0xffffffff, 0));
    b.resp(Op.WRITE_REG, u32le(base, 1 << 18, 0xffffffff, 0));
    expect(b.resp(Op.READ_REG, u32le(base)).value).toBe(0); // USR bit cleared when done
    expect(b.resp(Op.READ_REG, u32le(base + 0x80)).value).toBe(jedecId(8 * 1024 * 1024));
    expect(jedecId(4 * 1024 * 1024)).toBe(0x1640c8);
  });

  it("writes with FLASH_BEGIN/DATA (erase first), answers MD5 as hex, rejects bad checksums with 0x07", () => {
    const b = board("esp32c3");
    b.flash.program(0x20000, new Uint8Array(0x2000)); // old contents: zeros
    const data = Uint8Array.from({ length: 0x400 }, (_, i) => (i * 7) & 0xff);
    expect(b.resp(Op.FLASH_BEGIN, u32le(0x1000, 1, 0x400, 0x20000, 0)).data[0]).toBe(0);
    const blk = encodeDataBlock(0, data);
    const bad = b.resp(Op.FLASH_DATA, blk.data, blk.checksum ^ 1);
    expect([...bad.data]).toEqual([1, 7, 0, 0]);
    expect(b.resp(Op.FLASH_DATA, blk.data, blk.checksum).data[0]).toBe(0);
    const md5 = b.resp(Op.SPI_FLASH_MD5, u32le(0x20000, 0x400, 0, 0));
    expect(Buffer.from(md5.data.subarray(0, 32)).toString()).toBe(
      createHash("md5").update(data).digest("hex"),
    );
    expect(b.flash.read(0x20400, 4)).toEqual(Uint8Array.from([0xff, 0xff, 0xff, 0xff])); // erased by BEGIN
    expect(b.flash.read(0x21000, 1)).toEqual(Uint8Array.from([0])); // outside the erase region
  });

  it("needs the 5th FLASH_BEGIN word on C3 and refuses it on ESP32; refuses writes past the end", () => {
    expect(board("esp32c3").resp(Op.FLASH_BEGIN, u32le(0x1000, 1, 0x400, 0)).data[1]).toBe(5);
    expect(board("esp32").resp(Op.FLASH_BEGIN, u32le(0x1000, 1, 0x400, 0, 0)).data[1]).toBe(5);
    const past = board("esp32", 1024 * 1024).resp(Op.FLASH_BEGIN, u32le(0x2000, 2, 0x400, 0xff000));
    expect(past.data[0]).toBe(1);
  });

  it("answers malformed packets and unknown opcodes without crashing", () => {
    const b = board("esp32c3");
    const broken = encodeCommand(Op.READ_REG, u32le(0x40001000));
    broken[2] = 7; // length field lies
    const acts = b.loader.receive(slipEncode(broken));
    expect(acts).toHaveLength(1);
    expect(b.resp(0x77).data[1]).toBe(5);
    expect(b.loader.receive(Uint8Array.from([0xc0, 0xdb, 0x00, 0xc0, 0x01, 0x02]))).toEqual([]);
    expect(b.resp(Op.READ_REG, u32le(0x40001000)).value).toBe(0x1b31506f); // still alive
  });
});

describe("stub personality (after MEM_END with an entry point)", () => {
  it("greets with OHAI, then uses 2 status bytes, value 0 and 8 SYNC replies (esp-flasher-stub)", () => {
    const b = board();
    b.runStub();
    const { packets } = b.send(Op.SYNC, SYNC_PAYLOAD);
    expect(packets.map((p) => Buffer.from(p).toString("hex"))).toEqual(
      new Array(8).fill("01080200000000000000"),
    );
    expect(b.resp(Op.SPI_ATTACH, u32le(0)).data).toHaveLength(2);
    // The stub takes the pin word only; the ROM's second word is a bad length for it.
    expect([...b.resp(Op.SPI_ATTACH, u32le(0, 0)).data]).toEqual([0xc0, 0]);
  });

  it("writes compressed 0x4000 blocks erasing on the fly, MD5 raw, FLASH_DEFL_END checks completeness", () => {
    const b = board();
    b.runStub();
    b.flash.program(0x30000, new Uint8Array(0x6000)); // stale zeros that must be erased
    const image = Uint8Array.from({ length: 0x5000 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
    const z = deflateSync(image, { level: 9 });
    const blocks = Math.ceil(z.length / 0x4000);
    expect(b.resp(Op.FLASH_DEFL_BEGIN, u32le(image.length, blocks, 0x4000, 0x30000)).data[0]).toBe(0);
    // END before all data: not enough data
    expect([...b.resp(Op.FLASH_DEFL_END, u32le(1)).data]).toEqual([0xc8, 0]);
    expect(b.resp(Op.FLASH_DEFL_BEGIN, u32le(image.length, blocks, 0x4000, 0x30000)).data[0]).toBe(0);
    for (let i = 0; i < blocks; i++) {
      const blk = encodeDataBlock(i, z.subarray(i * 0x4000, (i + 1) * 0x4000));
      expect([...b.resp(Op.FLASH_DEFL_DATA, blk.data, blk.checksum).data]).toEqual([0, 0]);
    }
    expect([...b.resp(Op.FLASH_DEFL_END, u32le(1)).data]).toEqual([0, 0]);
    expect(b.flash.read(0x30000, image.length)).toEqual(image);
    expect(b.flash.read(0x35000, 0x1000)).toEqual(new Uint8Array(0x1000)); // sector never touched
    const md5 = b.resp(Op.SPI_FLASH_MD5, u32le(0x30000, image.length, 0, 0));
    expect(Buffer.from(md5.data.subarray(0, 16))).toEqual(createHash("md5").update(image).digest());
    expect(md5.data).toHaveLength(18);
  });

  it("rejects a corrupt deflate stream with 0xC7 and a bad checksum with 0xC1", () => {
    const b = board();
    b.runStub();
    b.resp(Op.FLASH_DEFL_BEGIN, u32le(0x1000, 1, 0x4000, 0));
    const junk = encodeDataBlock(0, Uint8Array.from([0x78, 0xda, 0xff, 0xff, 0xff, 0x00]));
    expect([...b.resp(Op.FLASH_DEFL_DATA, junk.data, junk.checksum).data]).toEqual([0xc7, 0]);
    expect([...b.resp(Op.FLASH_DEFL_DATA, junk.data, junk.checksum ^ 4).data]).toEqual([0xc1, 0]);
  });

  it("streams READ_FLASH in packets, waits for acks, ends with the raw MD5", () => {
    const b = board();
    b.runStub();
    const content = Uint8Array.from({ length: 0x2800 }, (_, i) => (i ^ (i >> 3)) & 0xff);
    b.flash.program(0x1000, content);
    const first = b.send(Op.READ_FLASH, u32le(0x1000, content.length, 0x1000, 2));
    // status reply + 2 packets, then it must wait
    expect(first.packets).toHaveLength(3);
    const got: number[] = [...first.packets[1]!, ...first.packets[2]!];
    const dec = new SlipDecoder();
    let md5: Uint8Array | undefined;
    while (!md5) {
      const acts = b.loader.receive(slipEncode(u32le(got.length)));
      for (const a of acts) {
        if (a.kind !== "send") continue;
        for (const e of dec.push(a.bytes)) {
          if (e.kind !== "packet") continue;
          if (got.length >= content.length) md5 = e.packet;
          else got.push(...e.packet);
        }
      }
    }
    expect(Uint8Array.from(got)).toEqual(content);
    expect(Buffer.from(md5)).toEqual(createHash("md5").update(content).digest());
    // back to commands afterwards
    expect(b.resp(Op.READ_REG, u32le(0x40001000)).value).toBe(0x1b31506f);
  });

  it("ERASE_REGION needs 4 KiB alignment (0xC0), ERASE_FLASH wipes everything", () => {
    const b = board();
    b.runStub();
    b.flash.program(0, new Uint8Array(0x3000));
    expect([...b.resp(Op.ERASE_REGION, u32le(0x800, 0x1000)).data]).toEqual([0xc0, 0]);
    expect([...b.resp(Op.ERASE_REGION, u32le(0x1000, 0x1000)).data]).toEqual([0, 0]);
    expect(b.flash.read(0x1000, 0x1000)).toEqual(new Uint8Array(0x1000).fill(0xff));
    expect(b.flash.read(0, 1)).toEqual(new Uint8Array(1));
    expect([...b.resp(Op.ERASE_FLASH).data]).toEqual([0, 0]);
    expect(b.flash.read(0, 1)).toEqual(Uint8Array.from([0xff]));
  });

  it("CHANGE_BAUDRATE answers at the old rate, then switches; unknown ops get 0xC3", () => {
    const b = board();
    b.runStub();
    const { actions } = b.send(Op.CHANGE_BAUDRATE, u32le(921600, 115200));
    expect(actions.map((a) => a.kind)).toEqual(["send", "set-baud"]);
    expect(b.loader.currentBaud).toBe(921600);
    expect([...b.resp(0x55).data]).toEqual([0xc3, 0]);
  });

  it("a stuck flash write hangs the chip until reset", () => {
    const b = board();
    b.runStub();
    b.flash.faults.stuckAfterBytes = 0x100;
    b.resp(Op.FLASH_BEGIN, u32le(0x1000, 1, 0x4000, 0));
    const blk = encodeDataBlock(0, new Uint8Array(0x1000));
    const { actions } = b.send(Op.FLASH_DATA, blk.data, blk.checksum);
    expect(actions.map((a) => a.kind)).toEqual(["hang"]);
    expect(b.send(Op.SYNC, SYNC_PAYLOAD).actions).toEqual([]);
  });
});
