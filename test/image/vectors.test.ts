/**
 * Parser, validator and builder against esptool v5.3.0 output (test/vectors/images): every field
 * image-info printed is read from its *.info*.txt, not hard-coded here.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RsagenError } from "../../src/errors.js";
import {
  buildImage,
  encodeAppDesc,
  encodeBootloaderDesc,
  listImageProblems,
  type ParsedImage,
  parseImage,
  type SegmentKind,
  validateImage,
} from "../../src/image/index.js";
import { FLASH_MODE_CODES, FLASH_SIZE_CODES, TARGETS, type TargetInfo } from "../../src/targets.js";
import { type ImageInfo, parseImageInfo } from "./image-info.js";

const DIR = join(import.meta.dirname, "../vectors/images");
const CORRUPT = join(DIR, "corrupt");

interface Case {
  name: string;
  bin: Uint8Array;
  info: ImageInfo;
  target: TargetInfo;
}

function cases(dir: string): Case[] {
  return readdirSync(dir)
    .filter((f) => /\.info(-chip-\w+)?\.txt$/.test(f))
    .map((f) => {
      const info = parseImageInfo(readFileSync(join(dir, f), "utf8"));
      const target = Object.values(TARGETS).find((t) => t.displayName === info.chipTitle);
      if (!target) throw new Error(`unknown chip ${info.chipTitle}`);
      const bin = new Uint8Array(readFileSync(join(dir, f.replace(/\.info.*$/, ".bin"))));
      return { name: f, bin, info, target };
    });
}

const MAIN = cases(DIR);
const ALL = [...MAIN, ...cases(CORRUPT)];

const keyOf = (m: Record<string, number>, v: number) => Object.entries(m).find(([, x]) => x === v)?.[0];
const rev = (full: number) => `v${Math.floor(full / 100)}.${full % 100}`;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const KIND_TYPE: Record<SegmentKind, string> = {
  drom: "DROM",
  irom: "IROM",
  dram: "DRAM",
  iram: "IRAM",
  padding: "PADDING",
  unknown: "?",
};

describe("image vectors", () => {
  it("has all vectors", () => {
    expect(MAIN.map((c) => c.name).sort()).toEqual([
      "app-esp32.info.txt",
      "app-esp32c3-rev.info.txt",
      "app-esp32c3.info.txt",
      "app-esp32c6.info.txt",
      "app-esp32s2.info.txt",
      "app-esp32s3.info.txt",
      "bootloader-esp32c3.info.txt",
    ]);
    expect(ALL).toHaveLength(13);
  });

  it.each(ALL)("$name: parse gives the fields image-info printed", ({ bin, info, target }) => {
    const img: ParsedImage = parseImage(bin, { target: target.name });
    const h = img.header;
    expect(img.length).toBe(info.imageSize);
    expect(bin.length).toBe(info.imageSize);
    expect(h.entry).toBe(info.entry);
    expect(img.segmentCount).toBe(info.segmentCount);
    expect(keyOf(FLASH_SIZE_CODES, h.flashSizeCode)).toBe(info.flashSize);
    expect(keyOf(target.flashFreqCodes, h.flashFreqCode)).toBe(info.flashFreq);
    expect(keyOf(FLASH_MODE_CODES, h.flashMode)?.toUpperCase()).toBe(info.flashMode);
    expect(h.wpPin).toBe(info.wpPin);
    const [b9, b10, b11] = h.spiPinDrv;
    expect({
      clk_drv: b9 & 0xf,
      q_drv: b9 >> 4,
      d_drv: b10 & 0xf,
      cs0_drv: b10 >> 4,
      hd_drv: b11 & 0xf,
      wp_drv: b11 >> 4,
    }).toEqual(info.drive);
    expect(h.chipId).toBe(info.chipId);
    expect(rev(h.minChipRevFull)).toBe(info.minRev);
    expect(h.minChipRev).toBe(info.legacyMinRev);
    expect(rev(h.maxChipRevFull)).toBe(info.maxRev);

    expect(img.segments).toHaveLength(info.segments.length);
    for (const [i, s] of img.segments.entries()) {
      const e = info.segments[i]!;
      expect([s.index, s.length, s.loadAddr, s.headerOffset]).toEqual([
        e.index,
        e.length,
        e.loadAddr,
        e.fileOffset,
      ]);
      expect(s.dataOffset).toBe(s.headerOffset + 8);
      expect(e.memoryTypes).toContain(KIND_TYPE[s.kind]);
    }

    expect(img.checksum.stored).toBe(info.checksum);
    expect(img.checksum.valid).toBe(info.checksumValid);
    if (info.checksumCalculated !== undefined) expect(img.checksum.computed).toBe(info.checksumCalculated);
    expect(img.checksum.offset).toBe(info.imageSize - 33);
    expect(hex(img.sha256!.computed)).toBe(info.hash);
    expect(img.sha256!.valid).toBe(info.hashValid);

    if (info.app) {
      const a = img.appDesc!;
      expect(a).toBeDefined();
      expect(a.projectName).toBe(info.app["Project name"]);
      expect(a.version).toBe(info.app["App version"]);
      expect(`${a.date} ${a.time}`).toBe(info.app["Compile time"]);
      expect(hex(a.appElfSha256)).toBe(info.app["ELF file SHA256"]);
      expect(a.idfVer).toBe(info.app["ESP-IDF"]);
      const efuse = (v: number) => `${Math.floor(v / 100)}.${v % 100}`;
      expect(efuse(a.minEfuseBlkRevFull)).toBe(info.app["Minimal eFuse block revision"]);
      expect(efuse(a.maxEfuseBlkRevFull)).toBe(info.app["Maximal eFuse block revision"]);
      expect(`${2 ** a.mmuPageSizeLog2 / 1024} KB`).toBe(info.app["MMU page size"]);
      expect(String(a.secureVersion)).toBe(info.app["Secure version"]);
      expect(img.bootloaderDesc).toBeUndefined();
    } else {
      expect(img.appDesc).toBeUndefined();
      const b = img.bootloaderDesc!;
      expect(String(b.version)).toBe(info.bootloader!["Bootloader version"]);
      expect(b.idfVer).toBe(info.bootloader!["ESP-IDF"]);
      expect(b.dateTime).toBe(info.bootloader!["Compile time"]);
    }
  });

  it.each(ALL)("$name: validation reports what image-info reported", ({ bin, info, target }) => {
    const expected: string[] = [];
    const chipWarning = info.warnings.find((w) => w.startsWith("Unexpected chip ID"));
    if (chipWarning) expected.push("wrong-chip");
    if (!info.checksumValid) expected.push("checksum");
    if (info.hashValid === false) expected.push("sha256");
    const problems = listImageProblems(bin, { target: target.name });
    expect(problems.map((p) => p.code)).toEqual(expected);
    if (chipWarning) {
      // "Unexpected chip ID in image. Expected 5 but value was 9." (the rest of esptool's line is a question)
      const core = chipWarning.slice(0, chipWarning.indexOf(".", chipWarning.indexOf("value was")) + 1);
      expect(problems[0]!.message.startsWith(core)).toBe(true);
      expect(problems[0]!.message).toContain("ESP32-S3");
    }
    const ck = problems.find((p) => p.code === "checksum");
    if (ck) expect(ck.message).toContain(`calculated 0x${info.checksumCalculated!.toString(16)}`);
    const sha = problems.find((p) => p.code === "sha256");
    if (sha) expect(sha.message).toContain(`calculated ${info.hash}`);
  });

  it.each(MAIN)("$name: build() reproduces the image from its header and segments", ({ bin, target }) => {
    const img = parseImage(bin);
    const real = img.segments
      .filter((s) => s.loadAddr !== 0)
      .map((s) => ({ loadAddr: s.loadAddr, data: s.data }));
    expect(real.length).toBeLessThanOrEqual(img.segments.length);
    // elf2image layout: the builder inserts the padding itself.
    const built = buildImage({ target: target.name, header: img.header, segments: real });
    expect(built.length).toBe(bin.length);
    expect(Buffer.from(built).equals(Buffer.from(bin))).toBe(true);
    // Sequential layout: the parsed segments (with padding) written back as they are.
    const all = img.segments.map((s) => ({ loadAddr: s.loadAddr, data: s.data }));
    const again = buildImage({
      target: target.name,
      header: img.header,
      segments: all,
      layout: "sequential",
    });
    expect(Buffer.from(again).equals(Buffer.from(bin))).toBe(true);
  });

  it.each(MAIN)("$name: the descriptor encoder writes the bytes elf2image wrote", ({ bin }) => {
    const img = parseImage(bin);
    const first = img.segments[0]!.data;
    if (img.appDesc) expect(hex(encodeAppDesc(img.appDesc))).toBe(hex(first.subarray(0, 256)));
    else expect(hex(encodeBootloaderDesc(img.bootloaderDesc!))).toBe(hex(first.subarray(0, 80)));
  });
});

describe("validateImage", () => {
  const c3 = MAIN.find((c) => c.name === "app-esp32c3.info.txt")!.bin;
  const rev = MAIN.find((c) => c.name === "app-esp32c3-rev.info.txt")!.bin;
  const boot = MAIN.find((c) => c.name === "bootloader-esp32c3.info.txt")!.bin;

  it("returns the parsed image when good, throws E_BAD_IMAGE listing problems when not", () => {
    expect(validateImage(c3, { target: "esp32c3", kind: "app" }).appDesc?.projectName).toBe("vectors");
    let err: unknown;
    try {
      validateImage(c3, { target: "esp32s3" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RsagenError);
    expect((err as RsagenError).code).toBe("E_BAD_IMAGE");
    expect((err as RsagenError).message).toMatch(
      /^Invalid image for ESP32-S3: Unexpected chip ID in image\. Expected 9 but value was 5\./,
    );
  });

  it("checks the chip revision range from the header", () => {
    // app-esp32c3-rev: min v1.1, max v2.99 (its info.txt).
    expect(listImageProblems(rev, { target: "esp32c3", chipRevision: 3 })).toEqual([
      { code: "chip-rev-too-old", message: "Image requires chip rev >= v1.1, but chip is v0.3" },
    ]);
    expect(listImageProblems(rev, { target: "esp32c3", chipRevision: 101 })).toEqual([]);
    expect(listImageProblems(rev, { target: "esp32c3", chipRevision: 299 })).toEqual([]);
    expect(listImageProblems(rev, { target: "esp32c3", chipRevision: 300 })).toEqual([
      { code: "chip-rev-too-new", message: "Image requires chip rev <= v2.99, but chip is v3.0" },
    ]);
  });

  it("requires the descriptor of the image kind and a size limit", () => {
    expect(listImageProblems(boot, { target: "esp32c3", kind: "bootloader" })).toEqual([]);
    expect(listImageProblems(boot, { target: "esp32c3", kind: "app" }).map((p) => p.code)).toEqual([
      "no-app-desc",
    ]);
    expect(listImageProblems(c3, { target: "esp32c3", kind: "bootloader" }).map((p) => p.code)).toEqual([
      "no-bootloader-desc",
    ]);
    expect(listImageProblems(c3, { target: "esp32c3", maxLength: 0x10000 })[0]!.message).toBe(
      "Image is 65664 bytes (0x10080) and does not fit in 65536 bytes (0x10000)",
    );
  });

  it("reports bytes that are not an image, or end early", () => {
    expect(listImageProblems(new Uint8Array(4096).fill(0xff), { target: "esp32c3" })).toEqual([
      { code: "bad-magic", message: "Invalid image magic 0xff (expected 0xe9)" },
    ]);
    expect(listImageProblems(c3.subarray(0, 0x100), { target: "esp32c3" })[0]!.code).toBe("truncated");
    expect(listImageProblems(c3.subarray(0, c3.length - 1), { target: "esp32c3" })).toEqual([
      { code: "truncated", message: "Image ends before its appended SHA-256 at 0x10060" },
    ]);
    expect(listImageProblems(c3.subarray(0, 0x1005f), { target: "esp32c3" })[0]!.message).toBe(
      "Image ends before its checksum byte at 0x1005f",
    );
    // Trailing bytes (the rest of a flash partition) are ignored.
    const padded = new Uint8Array(0x20000).fill(0xff);
    padded.set(c3);
    expect(listImageProblems(padded, { target: "esp32c3" })).toEqual([]);
  });

  it("finds flash-mapped segments at the wrong file offset and bad segment lengths", () => {
    const img = parseImage(c3);
    const segs = img.segments
      .filter((s) => s.loadAddr !== 0)
      .map((s) => ({ loadAddr: s.loadAddr, data: s.data }));
    const bad = buildImage({ target: "esp32c3", header: img.header, segments: segs, layout: "sequential" });
    const problems = listImageProblems(bad, { target: "esp32c3" });
    expect(problems.map((p) => p.code)).toEqual(["segment-misaligned"]);
    expect(problems[0]!.message).toMatch(
      /^Segment 3 load address 0x42000020, doesn't match data 0x000001cc$/,
    );

    const odd = new Uint8Array(c3);
    new DataView(odd.buffer).setUint32(0x18 + 4, 0x13f, true); // segment 0 length 0x140 -> 0x13f
    expect(() => parseImage(odd)).not.toThrow();
    expect(listImageProblems(odd, { target: "esp32c3" }).map((p) => p.code)).toContain("segment-length");
  });

  it("flags more than 16 segments", () => {
    // 24-byte header (no digest), 17 zero segments of 4 bytes, padding, checksum 0xEF.
    const header = buildImage({
      target: "esp32c3",
      header: { entry: 0x40380000, hashAppended: false },
      segments: [],
    });
    const body = 24 + 17 * 12;
    const raw = new Uint8Array(body + (15 - (body % 16)) + 1);
    raw.set(header.subarray(0, 24));
    raw[1] = 17;
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < 17; i++) {
      dv.setUint32(24 + i * 12, 0x3fc88000 + i * 4, true);
      dv.setUint32(24 + i * 12 + 4, 4, true);
    }
    raw[raw.length - 1] = 0xef;
    expect(listImageProblems(raw, { target: "esp32c3" })).toEqual([
      { code: "too-many-segments", message: "Image has 17 segments; at most 16 are allowed" },
    ]);
  });
});
