/**
 * The codec against gen_esp32part.py v5.5.5 output (test/vectors/partitions, see README there).
 * Expected bytes and messages come from the vector files, never from this code.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodePartitionTable,
  encodePartitionTable,
  parsePartitionCsv,
  partitionTableToCsv,
  validatePartitionTable,
} from "../../src/partitions/index.js";
import { errorOf } from "../helpers/error-of.js";

const DIR = join(import.meta.dirname, "../vectors/partitions");
const BROKEN = join(DIR, "broken");
const read = (p: string) => new Uint8Array(readFileSync(p));
const text = (p: string) => readFileSync(p, "utf8");

const csvTables = readdirSync(DIR)
  .filter((f) => f.endsWith(".csv") && !f.endsWith(".roundtrip.csv"))
  .map((f) => f.replace(/\.csv$/, ""));
const binTables = readdirSync(DIR)
  .filter((f) => f.endsWith(".bin"))
  .map((f) => f.replace(/\.bin$/, ""));

/** The tool's error line: the line before "[exit N]" in a *.gen_esp32part.txt block. */
function toolMessage(file: string): string {
  const lines = text(file).split("\n");
  const exit = lines.findIndex((l) => /^\[exit [12]\]$/.test(l));
  return lines[exit - 1]!;
}

describe("partition vectors", () => {
  it("has the vector set", () => {
    expect(csvTables.sort()).toEqual(["flags_custom", "singleapp", "singleapp_1536k", "two_ota"]);
    expect(binTables).toHaveLength(5);
  });

  it.each(csvTables)("%s.csv encodes byte-identical to gen_esp32part's .bin", (name) => {
    const table = parsePartitionCsv(text(join(DIR, `${name}.csv`)));
    validatePartitionTable(table);
    const bin = encodePartitionTable(table);
    expect(bin.length).toBe(0xc00);
    expect(Buffer.from(bin).equals(Buffer.from(read(join(DIR, `${name}.bin`))))).toBe(true);
  });

  it.each(binTables)("%s.bin decodes, re-encodes identically and writes the roundtrip CSV", (name) => {
    const bin = read(join(DIR, `${name}.bin`));
    const table = decodePartitionTable(bin);
    validatePartitionTable(table);
    expect(Buffer.from(encodePartitionTable(table)).equals(Buffer.from(bin))).toBe(true);
    expect(partitionTableToCsv(table)).toBe(text(join(DIR, `${name}.roundtrip.csv`)));
    // The canonical CSV parses back to the same binary (with or without the MD5 row).
    const again = parsePartitionCsv(text(join(DIR, `${name}.roundtrip.csv`)), { md5: table.md5 });
    expect(Buffer.from(encodePartitionTable(again)).equals(Buffer.from(bin))).toBe(true);
  });

  it("knows which tables carry the MD5 row", () => {
    expect(decodePartitionTable(read(join(DIR, "singleapp.bin"))).md5).toBe(true);
    expect(decodePartitionTable(read(join(DIR, "singleapp-nomd5.bin"))).md5).toBe(false);
  });

  it("decodes a whole 4 KiB flash sector as well as the 0xC00 file", () => {
    const sector = new Uint8Array(0x1000).fill(0xff);
    sector.set(read(join(DIR, "two_ota.bin")));
    expect(decodePartitionTable(sector).entries.map((e) => e.name)).toEqual([
      "nvs",
      "otadata",
      "phy_init",
      "factory",
      "ota_0",
      "ota_1",
    ]);
  });
});

describe("broken partition vectors", () => {
  it("bad MD5: reports the computed and stored digests like gen_esp32part", () => {
    const tool = toolMessage(join(BROKEN, "broken-bad-md5.gen_esp32part.txt"));
    const [, computed, parsed] = /computed: 0x([0-9a-f]{32}), parsed: 0xb'([0-9a-f]{32})'/.exec(tool)!;
    const err = errorOf(() => decodePartitionTable(read(join(BROKEN, "broken-bad-md5.bin"))));
    expect(err.code).toBe("E_BAD_PARTITIONS");
    expect(err.message).toBe(`MD5 checksums don't match! (computed: 0x${computed}, parsed: 0x${parsed})`);
    expect(err.hint).toBeTruthy();
    // Skipping the check (gen_esp32part --disable-md5sum crashes here) still decodes the entries.
    expect(
      decodePartitionTable(read(join(BROKEN, "broken-bad-md5.bin")), { verifyMd5: false }).entries,
    ).toHaveLength(6);
  });

  it("bad magic in entry 1: names the bytes and the entry", () => {
    const tool = toolMessage(join(BROKEN, "broken-bad-magic.gen_esp32part.txt"));
    expect(tool).toBe("Invalid magic bytes (b'UP') for partition definition");
    const err = errorOf(() => decodePartitionTable(read(join(BROKEN, "broken-bad-magic.bin"))));
    expect(err.code).toBe("E_BAD_PARTITIONS");
    // b'UP' is 0x55 0x50.
    expect(err.message).toMatch(/^Invalid magic bytes \(0x5550\) for partition definition 1 at byte 0x20/);
  });

  it("bad magic in entry 0: a clear error where gen_esp32part crashes", () => {
    expect(text(join(BROKEN, "broken-bad-magic-first-entry.gen_esp32part.txt"))).toContain(
      "UnicodeDecodeError",
    );
    const err = errorOf(() => decodePartitionTable(read(join(BROKEN, "broken-bad-magic-first-entry.bin"))));
    expect(err.code).toBe("E_BAD_PARTITIONS");
    expect(err.message).toMatch(/^Invalid magic bytes \(0x5550\) for partition definition 0 at byte 0x0/);
  });

  it("overlap: decodes, then validation reports it with gen_esp32part's words", () => {
    const tool = toolMessage(join(BROKEN, "broken-overlap.gen_esp32part.txt"));
    expect(tool).toBe("Partition at 0x100000 overlaps 0x10000-0x10ffff");
    const table = decodePartitionTable(read(join(BROKEN, "broken-overlap.bin")));
    const err = errorOf(() => validatePartitionTable(table));
    expect(err.code).toBe("E_BAD_PARTITIONS");
    expect(err.message.startsWith(tool)).toBe(true);
    expect(err.message).toContain("ota_0 overlaps factory");
    // Like --no-verify: the table still converts.
    expect(partitionTableToCsv(table)).toContain("ota_0,app,ota_0,0x100000,1M,");
  });

  it("overlap from CSV: the same message as gen_esp32part", () => {
    const tool = toolMessage(join(BROKEN, "overlap-attempt.gen_esp32part.txt"));
    const err = errorOf(() => parsePartitionCsv(text(join(BROKEN, "overlap-attempt.csv"))));
    expect(err.code).toBe("E_BAD_PARTITIONS");
    expect(err.message).toBe(tool);
  });
});
