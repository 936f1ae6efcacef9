/**
 * App selection from OTA data as ESP-IDF's 2nd-stage bootloader does it: only records whose CRC
 * (esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4)) matches and whose state is not INVALID/ABORTED count;
 * the highest sequence number picks slot (seq-1) % count; none valid -> factory, else ota_0.
 * Known answers: seq 1 -> crc 0x4743989A, seq 2 -> 0x55F63774 (real otadata dumps).
 */
import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/device/frame.js";
import { buildHostBootloader, wrapHostExecutable } from "../../src/image/host-payload.js";
import { encodePartitionTable, parsePartitionCsv } from "../../src/partitions/index.js";
import { bootFromFlash } from "../../src/sim/boot.js";
import { MemoryFlash } from "../../src/sim/index.js";
import { TARGETS } from "../../src/targets.js";

const t = TARGETS.esp32c3;
const settings = { mode: "dio", size: "4MB", freq: "80m" };
const builtAt = new Date("2025-01-01T12:34:56Z");
const TABLE = (factory: boolean) =>
  [
    "# Name, Type, SubType, Offset, Size",
    "nvs, data, nvs, 0x9000, 0x4000",
    "otadata, data, ota, 0xd000, 0x2000",
    factory ? "factory, app, factory, 0x10000, 0x40000" : "",
    "ota_0, app, ota_0, 0x50000, 0x40000",
    "ota_1, app, ota_1, 0x90000, 0x40000",
  ]
    .filter(Boolean)
    .join("\n");

function flashWith(factory: boolean, records: Array<Uint8Array | undefined>): MemoryFlash {
  const img = new Uint8Array(t.defaultFlashSize).fill(0xff);
  img.set(buildHostBootloader({ target: "esp32c3", version: "0.1.0", flash: settings, builtAt }), 0);
  img.set(encodePartitionTable(parsePartitionCsv(TABLE(factory))), 0x8000);
  for (const off of factory ? [0x10000, 0x50000, 0x90000] : [0x50000, 0x90000]) {
    const exe = new TextEncoder().encode(`app at ${off.toString(16)}`);
    img.set(wrapHostExecutable(exe, { target: "esp32c3", version: "0.1.0", flash: settings, builtAt }), off);
  }
  records.forEach((r, i) => {
    if (r) img.set(r, 0xd000 + i * 0x1000);
  });
  return new MemoryFlash(img.length, img);
}

function record(seq: number, opts: { state?: number; crc?: number } = {}): Uint8Array {
  const r = new Uint8Array(32).fill(0xff);
  const v = new DataView(r.buffer);
  v.setUint32(0, seq, true);
  v.setUint32(24, opts.state ?? 0xffffffff, true);
  v.setUint32(28, opts.crc ?? crc32(r.subarray(0, 4), 0xffffffff), true);
  return r;
}

function bootedOffset(flash: MemoryFlash): number {
  const r = bootFromFlash(t, flash, { reason: "poweron" });
  if (r.outcome.kind !== "app") throw new Error(r.log);
  expect(r.log).toContain(`Loaded app from partition at offset 0x${r.outcome.partition.offset.toString(16)}`);
  return r.outcome.partition.offset;
}

describe("OTA data selection", () => {
  it("uses ESP-IDF's record CRC (known answers for seq 1 and 2)", () => {
    expect(new DataView(record(1).buffer).getUint32(28, true)).toBe(0x4743989a);
    expect(new DataView(record(2).buffer).getUint32(28, true)).toBe(0x55f63774);
  });

  it("the highest valid sequence number picks the slot", () => {
    expect(bootedOffset(flashWith(true, [record(1), record(2)]))).toBe(0x90000);
    expect(bootedOffset(flashWith(true, [record(3), record(2)]))).toBe(0x50000);
    expect(bootedOffset(flashWith(false, [undefined, record(4, { state: 2 })]))).toBe(0x90000); // VALID
  });

  it("ignores a record with a wrong CRC", () => {
    expect(bootedOffset(flashWith(true, [record(1), record(2, { crc: 0x12345678 })]))).toBe(0x50000);
  });

  it("ignores INVALID and ABORTED records", () => {
    expect(bootedOffset(flashWith(true, [record(1), record(2, { state: 3 })]))).toBe(0x50000);
    expect(bootedOffset(flashWith(true, [record(1, { state: 4 }), record(2, { state: 4 })]))).toBe(0x10000);
  });

  it("no valid record: factory if there is one, else ota_0", () => {
    expect(bootedOffset(flashWith(true, [undefined, undefined]))).toBe(0x10000);
    expect(bootedOffset(flashWith(false, [record(2, { crc: 0 }), undefined]))).toBe(0x50000);
  });
});
