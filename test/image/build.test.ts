/** Builder rules beyond the vectors: elf2image placement, limits, descriptors. */
import { describe, expect, it } from "vitest";
import {
  buildImage,
  encodeAppDesc,
  encodeBootloaderDesc,
  listImageProblems,
  parseImage,
} from "../../src/image/index.js";
import { TARGET_NAMES, TARGETS } from "../../src/targets.js";
import { errorOf } from "../helpers/error-of.js";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe("buildImage", () => {
  it.each(TARGET_NAMES)("%s: an app with DROM, RAM and a large IROM segment is valid and aligned", (name) => {
    const m = TARGETS[name].memory;
    const desc = encodeAppDesc({ version: "0.1.0", projectName: "rsagen", idfVer: "host" });
    const drom = new Uint8Array(0x400);
    drom.set(desc);
    const segments = [
      { loadAddr: m.drom.start + 0x20, data: drom },
      { loadAddr: m.dram.start + 0x8000, data: bytes(0x100, 1) },
      { loadAddr: m.iram.start + 0x4000, data: bytes(0x24, 2) },
      { loadAddr: m.irom.start + 0x10020, data: bytes(0x23456, 3) },
    ];
    const bin = buildImage({ target: name, header: { entry: m.iram.start + 0x4000 }, segments });
    expect(bin.length % 16).toBe(0);
    expect(listImageProblems(bin, { target: name, kind: "app", requireSha256: true })).toEqual([]);
    const img = parseImage(bin);
    expect(img.appDesc?.projectName).toBe("rsagen");
    for (const s of img.segments.filter((x) => x.kind === "drom" || x.kind === "irom")) {
      expect(s.dataOffset % 0x10000).toBe(s.loadAddr % 0x10000);
    }
    // Every input byte is in the image, at its load address (RAM may be split into pieces).
    for (const seg of segments) {
      const got = new Uint8Array(seg.data.length);
      for (const s of img.segments) {
        const lo = Math.max(s.loadAddr, seg.loadAddr);
        const hi = Math.min(s.loadAddr + s.length, seg.loadAddr + seg.data.length);
        if (s.loadAddr !== 0 && lo < hi)
          got.set(s.data.subarray(lo - s.loadAddr, hi - s.loadAddr), lo - seg.loadAddr);
      }
      expect(Buffer.from(got).equals(Buffer.from(seg.data))).toBe(true);
    }
  });

  it("splits the first RAM segment to fill the gap before a flash segment", () => {
    const m = TARGETS.esp32c3.memory;
    const ram = bytes(0x20000, 9);
    const bin = buildImage({
      target: "esp32c3",
      header: { entry: 0x40380000 },
      segments: [
        { loadAddr: m.drom.start + 0x20, data: new Uint8Array(0x100) },
        { loadAddr: 0x3fc90000, data: ram },
        { loadAddr: m.irom.start + 0x20, data: new Uint8Array(0x40) },
      ],
    });
    const img = parseImage(bin);
    expect(img.segments.map((s) => [s.loadAddr, s.kind])).toEqual([
      [m.drom.start + 0x20, "drom"],
      [0x3fc90000, "dram"],
      [m.irom.start + 0x20, "irom"],
      [0x3fc90000 + img.segments[1]!.length, "dram"],
    ]);
    expect(img.segments[1]!.length + img.segments[3]!.length).toBe(0x20000);
    expect(img.segments[2]!.dataOffset).toBe(0x10020);
  });

  it("pads esp32 flash segments to end at least 0x24 bytes into a 64 KiB page", () => {
    const m = TARGETS.esp32.memory;
    // IROM data lands at file 0x10020, so 0xffe0 bytes would end exactly on the 0x20000 boundary.
    const seg = { loadAddr: m.irom.start + 0x20, data: new Uint8Array(0xffe0) };
    const esp32 = parseImage(buildImage({ target: "esp32", header: { entry: 0x40080000 }, segments: [seg] }));
    const irom = esp32.segments.find((s) => s.loadAddr === seg.loadAddr)!;
    expect((irom.dataOffset + irom.length) % 0x10000).toBe(0x24);
    expect(irom.length).toBe(0xffe0 + 0x24);
    const c3seg = { loadAddr: TARGETS.esp32c3.memory.irom.start + 0x20, data: new Uint8Array(0xffe0) };
    const c3 = parseImage(
      buildImage({ target: "esp32c3", header: { entry: 0x40380000 }, segments: [c3seg] }),
    );
    expect(c3.segments.find((s) => s.loadAddr === c3seg.loadAddr)!.length).toBe(0xffe0);
  });

  it("pads segment data to 4 bytes and writes the header fields", () => {
    const bin = buildImage({
      target: "esp32s3",
      header: {
        entry: 0x40374000,
        flashMode: 2,
        flashSizeCode: 3,
        flashFreqCode: 0xf,
        minChipRevFull: 101,
        maxChipRevFull: 299,
      },
      segments: [{ loadAddr: 0x3fc88000, data: bytes(5, 0) }],
    });
    const img = parseImage(bin);
    expect(img.segments[0]!.length).toBe(8);
    expect([...img.segments[0]!.data.subarray(5)]).toEqual([0, 0, 0]);
    expect(Buffer.from(bin.subarray(0, 24)).toString("hex")).toBe(
      "e901023f00403740ee00000009000065002b010000000001",
    );
  });

  it("refuses two flash segments in one 64 KiB page and more than 16 segments", () => {
    const d = TARGETS.esp32c3.memory.drom.start;
    expect(
      errorOf(() =>
        buildImage({
          target: "esp32c3",
          header: { entry: 0 },
          segments: [
            { loadAddr: d + 0x20, data: new Uint8Array(4) },
            { loadAddr: d + 0x1000, data: new Uint8Array(4) },
          ],
        }),
      ).message,
    ).toBe(
      "Segment loaded at 0x3c001000 lands in the same 64 KB flash mapping as segment loaded at 0x3c000020",
    );
    const many = Array.from({ length: 17 }, (_, i) => ({
      loadAddr: 0x3fc88000 + i * 16,
      data: new Uint8Array(4),
    }));
    const err = errorOf(() => buildImage({ target: "esp32c3", header: { entry: 0 }, segments: many }));
    expect(err.code).toBe("E_BAD_IMAGE");
    expect(err.message).toBe("Image would have 17 segments; at most 16 are allowed");
  });

  it("builds a bootloader image with its descriptor", () => {
    const desc = encodeBootloaderDesc({ version: 1, idfVer: "host", dateTime: "Jan  1 2026 00:00:00" });
    const bin = buildImage({
      target: "esp32c3",
      header: { entry: 0x403cbf10 },
      segments: [
        { loadAddr: 0x3fcd5710, data: desc },
        { loadAddr: 0x403cbf10, data: bytes(64, 4) },
      ],
    });
    expect(listImageProblems(bin, { target: "esp32c3", kind: "bootloader" })).toEqual([]);
    expect(parseImage(bin).bootloaderDesc).toEqual({
      version: 1,
      idfVer: "host",
      dateTime: "Jan  1 2026 00:00:00",
    });
  });

  it("rejects descriptor strings that do not fit", () => {
    expect(errorOf(() => encodeAppDesc({ version: "v".repeat(32), projectName: "x" })).message).toBe(
      'version "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv" is 32 bytes; the descriptor field holds at most 31',
    );
  });
});
