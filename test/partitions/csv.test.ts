/** CSV syntax and table rules beyond the vectors (gen_esp32part.py v5.5.5 semantics). */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodePartitionTable,
  encodePartitionTable,
  findBootPartition,
  listPartitionProblems,
  parsePartitionCsv,
  validatePartitionTable,
} from "../../src/partitions/index.js";
import { errorOf } from "../helpers/error-of.js";

const APP = "factory, app, factory,, 1M\n";

describe("parsePartitionCsv", () => {
  it("places blank offsets: data on 4 KiB, app on 64 KiB, starting after the table sector", () => {
    const t = parsePartitionCsv("a, data, nvs,, 0x5000\nb, data, 0x99,, 100\nc, app, ota_3,, 64K\n");
    expect(t.entries.map((e) => [e.offset, e.size, e.subtype])).toEqual([
      [0x9000, 0x5000, 0x02],
      [0xe000, 100, 0x99],
      [0x10000, 0x10000, 0x13],
    ]);
    // With the table at 0x10000 the first free offset is 0x11000.
    expect(parsePartitionCsv("a, data, nvs,, 0x5000\n", { tableOffset: 0x10000 }).entries[0]!.offset).toBe(
      0x11000,
    );
  });

  it("reads numbers like Python int(x, 0) with K/M suffixes, and names case-insensitively", () => {
    const t = parsePartitionCsv(
      "# comment\n\n  x, DATA, SPIFFS, 0x20000, 2m \r\ny, 0x40, 0x05, 0x30_0000, 1_024k\nz, data, 0o201,, 0b1000000000000\n",
    );
    expect(t.entries.map((e) => [e.name, e.type, e.subtype, e.offset, e.size])).toEqual([
      ["x", 1, 0x82, 0x20000, 0x200000],
      ["y", 0x40, 5, 0x300000, 0x100000],
      ["z", 1, 0x81, 0x400000, 0x1000],
    ]);
    expect(t.entries[1]!.line).toBe(4);
  });

  it("reports bad rows with their line number", () => {
    expect(errorOf(() => parsePartitionCsv(`${APP}x, data, nvs, 0x200000, 010\n`)).message).toBe(
      "Error at line 2: Invalid field value 010",
    );
    expect(errorOf(() => parsePartitionCsv("x, data, nvsx,, 4K\n")).message).toMatch(
      /^Error at line 1: Value 'nvsx' is not valid\. Known keywords: ota, phy, nvs, /,
    );
    expect(errorOf(() => parsePartitionCsv("x, , nvs,, 4K\n")).message).toBe(
      "Error at line 1: Field 'type' can't be left empty.",
    );
    expect(errorOf(() => parsePartitionCsv("x, app, ,, 1M\n")).message).toBe(
      "Error at line 1: App partition cannot have an empty subtype",
    );
    expect(errorOf(() => parsePartitionCsv("x, data, nvs, 0x9000,\n")).message).toBe(
      "Error at line 1: Size field can't be empty",
    );
    expect(errorOf(() => parsePartitionCsv("x, data, nvs,, 16K, secret\n")).message).toBe(
      "Error at line 1: CSV flag column contains unknown flag 'secret'",
    );
    const e = errorOf(() => parsePartitionCsv("x, data, nvs, 0x8000, 16K\n"));
    expect(e.code).toBe("E_BAD_PARTITIONS");
    expect(e.message).toBe(
      "CSV Error at line 1: Partitions overlap. Partition sets offset 0x8000. But partition table occupies " +
        "the whole sector 0x8000. Use a free offset 0x9000 or higher.",
    );
  });

  it("accepts names of 15 and exactly 16 bytes and rejects 17", () => {
    const t = parsePartitionCsv(
      `fifteen_chars_x, data, nvs,, 16K\nsixteen_chr_name, data, nvs,, 16K\n${APP}`,
    );
    const bin = encodePartitionTable(t);
    expect(Buffer.from(bin.subarray(12, 28)).toString("latin1")).toBe("fifteen_chars_x\0");
    expect(Buffer.from(bin.subarray(32 + 12, 32 + 28)).toString("latin1")).toBe("sixteen_chr_name");
    expect(decodePartitionTable(bin).entries[1]!.name).toBe("sixteen_chr_name");
    const err = errorOf(() => parsePartitionCsv("seventeen_chr_nam, data, nvs,, 16K\n"));
    expect(err.message).toBe(
      "Error at line 1: Name 'seventeen_chr_nam' is 17 bytes long; the limit is 16 (15 characters + NUL, or exactly 16)",
    );
  });

  it("encodes flags into bits 0 and 1", () => {
    const t = parsePartitionCsv(
      `a, data, nvs,, 16K, encrypted\nb, data, nvs,, 16K, readonly\nc, data, nvs,, 16K, readonly:encrypted\n${APP}`,
    );
    const bin = encodePartitionTable(t);
    expect([0, 1, 2].map((i) => bin[i * 32 + 28])).toEqual([1, 2, 3]);
  });

  it("expands $VAR from the given environment and rejects unknown ones", () => {
    const t = parsePartitionCsv("app0, app, factory, $OFF, $" + "{SIZE}\n", {
      env: { OFF: "0x20000", SIZE: "1M" },
    });
    expect([t.entries[0]!.offset, t.entries[0]!.size]).toEqual([0x20000, 0x100000]);
    expect(errorOf(() => parsePartitionCsv("app0, app, factory, $OFF, 1M\n")).message).toBe(
      "Error at line 1: unknown variable 'OFF'",
    );
  });
});

describe("validatePartitionTable", () => {
  const problems = (csv: string, opts = {}) => listPartitionProblems(parsePartitionCsv(csv), opts);

  it("passes a good table", () => {
    expect(problems(`nvs, data, nvs,, 24K\n${APP}`, { flashSize: 2 * 1024 * 1024 })).toEqual([]);
  });

  it("checks alignment of offsets and app sizes", () => {
    expect(problems("f, app, factory, 0x18000, 1M\n")).toEqual([
      "Partition f invalid: Offset 0x18000 is not aligned to 0x10000",
    ]);
    expect(problems("f, app, factory, 0x10000, 0x10800\n")).toEqual([
      "Partition f invalid: Size 0x10800 is not aligned to 0x1000",
    ]);
    expect(problems(`d, data, spiffs, 0x9800, 8K\n${APP}`)).toEqual([
      "Partition d invalid: Offset 0x9800 is not aligned to 0x1000",
    ]);
  });

  it("finds duplicate names, otadata rules, read-only rules and small writable NVS", () => {
    expect(problems(`nvs, data, nvs,, 24K\nnvs, data, spiffs,, 24K\n${APP}`)).toEqual([
      "Partition names must be unique (duplicated: nvs)",
    ]);
    expect(problems(`otadata, data, ota,, 4K\n${APP}`)).toEqual([
      "otadata partition must have size = 0x2000",
    ]);
    expect(problems(`cd, data, coredump,, 64K, readonly\n${APP}`)).toEqual([
      "Partition cd invalid: 'cd' partition of type 1 and subtype 3 is always read-write and cannot be read-only",
    ]);
    expect(problems(`n, data, nvs,, 8K\n${APP}`)[0]).toMatch(/must be flagged as 'readonly'/);
    expect(problems(`n, data, nvs,, 8K, readonly\n${APP}`)).toEqual([]);
  });

  it("checks that the table fits the flash and has an app", () => {
    expect(problems(APP, { flashSize: 1024 * 1024 })).toEqual([
      "Partitions tables occupies 1.1MB of flash (1114112 bytes) which does not fit in configured flash size 1MB",
    ]);
    expect(problems("nvs, data, nvs,, 24K\n")).toEqual([
      "The table has no app partition, so there is nothing to boot",
    ]);
    expect(problems("nvs, data, nvs,, 24K\n", { requireApp: false })).toEqual([]);
  });

  it("throws E_BAD_PARTITIONS with the first problem and a count", () => {
    const err = errorOf(() =>
      validatePartitionTable(
        parsePartitionCsv("f, app, factory, 0x18000, 1M\ng, app, ota_0, 0x200000, 0x800\n"),
      ),
    );
    expect(err.code).toBe("E_BAD_PARTITIONS");
    expect(err.exitCode).toBe(24);
    expect(err.message).toBe(
      "Partition f invalid: Offset 0x18000 is not aligned to 0x10000 (and 1 more problem(s))",
    );
  });

  it("refuses more entries than fit before the end marker", () => {
    const rows = Array.from({ length: 95 }, (_, i) => `p${i}, data, 0x40,, 4K`).join("\n");
    const t = parsePartitionCsv(rows);
    expect(errorOf(() => encodePartitionTable(t)).message).toBe(
      "Binary partition table length (3072) longer than max",
    );
    t.entries.pop();
    expect(decodePartitionTable(encodePartitionTable(t)).entries).toHaveLength(94);
  });
});

describe("partitions/rsagen.csv", () => {
  const csv = readFileSync(join(import.meta.dirname, "../../partitions/rsagen.csv"), "utf8");

  it("is the contracted layout and valid on the smallest default flash", () => {
    const t = parsePartitionCsv(csv);
    validatePartitionTable(t, { flashSize: 2 * 1024 * 1024 });
    expect(t.entries.map((e) => [e.name, e.type, e.subtype, e.offset, e.size])).toEqual([
      ["nvs", 1, 2, 0x9000, 0x6000],
      ["phy_init", 1, 1, 0xf000, 0x1000],
      ["factory", 0, 0, 0x10000, 0x180000],
      // The key slots (firmware/components/rsagen_os/include/rsagen_flash.h: type, subtype, label).
      ["rsagen_keys", 0x40, 0x01, 0x190000, 0x10000],
    ]);
    expect(t.entries.at(-1)?.encrypted).toBe(true);
    expect(findBootPartition(t)?.name).toBe("factory");
  });
});

describe("findBootPartition", () => {
  it("prefers factory, then the lowest OTA slot", () => {
    const t = parsePartitionCsv("otadata, data, ota,, 8K\nb, app, ota_1,, 1M\na, app, ota_0,, 1M\n");
    expect(findBootPartition(t)?.name).toBe("a");
    expect(findBootPartition(parsePartitionCsv("n, data, nvs,, 24K\n"))).toBeUndefined();
  });
});

describe("decodePartitionTable", () => {
  it("keeps unknown flag bits, warns about them, and re-encodes identically", () => {
    const bin = encodePartitionTable(parsePartitionCsv(`nvs, data, nvs,, 24K, readonly\n${APP}`));
    bin[28] = 0x12; // readonly (bit 1) + unknown bit 4
    const fixed = encodePartitionTable({ ...decodePartitionTable(bin, { verifyMd5: false }), md5: true });
    const t = decodePartitionTable(fixed);
    expect(t.entries[0]).toMatchObject({ readonly: true, encrypted: false, unknownFlags: 0x10 });
    expect(t.warnings).toEqual(["Partition definition had unknown flag(s) 0x00000010. Newer binary format?"]);
    expect(Buffer.from(encodePartitionTable(t)).equals(Buffer.from(fixed))).toBe(true);
    expect(fixed[28]).toBe(0x12);
  });

  it("reports a length that is not a multiple of 32 and a missing end marker", () => {
    const bin = encodePartitionTable(parsePartitionCsv(APP));
    expect(errorOf(() => decodePartitionTable(bin.subarray(0, 40))).message).toBe(
      "Partition table length must be a multiple of 32 bytes (got 40)",
    );
    expect(errorOf(() => decodePartitionTable(bin.subarray(0, 64))).message).toBe(
      "Partition table is missing an end-of-table marker",
    );
  });
});
