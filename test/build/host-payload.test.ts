import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildHostBootloader,
  decodeHostPayload,
  encodeHostPayload,
  extractHostExecutable,
  wrapHostExecutable,
} from "../../src/image/host-payload.js";
import { buildImage, isFlashMapped, parseImage, validateImage } from "../../src/image/index.js";
import { TARGET_NAMES, TARGETS } from "../../src/targets.js";

let tmp: string;
let exe: Uint8Array;

beforeAll(() => {
  // Any ELF will do for the packaging: compile a tiny C program.
  tmp = mkdtempSync(join(tmpdir(), "rsagen-hostpay-"));
  writeFileSync(
    join(tmp, "hello.c"),
    '#include <stdio.h>\nint main(void){puts("hello from the host");return 0;}\n',
  );
  execFileSync("cc", ["-O1", "-o", join(tmp, "hello"), join(tmp, "hello.c")]);
  exe = new Uint8Array(readFileSync(join(tmp, "hello")));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const flash = { mode: "dio", size: "4MB", freq: "80m" };
const when = new Date(Date.UTC(2025, 0, 5, 12, 34, 56));

describe("host payload", () => {
  it("encodes magic, length, flags, bytes and pads to 4", () => {
    const p = encodeHostPayload(new Uint8Array([1, 2, 3, 4, 5]));
    expect(Buffer.from(p.subarray(0, 16)).toString("latin1")).toBe("RSAGEN-HOST-ELF\0");
    expect(Buffer.from(p.subarray(16, 24)).toString("hex")).toBe("0500000000000000");
    expect([...p.subarray(24)]).toEqual([1, 2, 3, 4, 5, 0, 0, 0]);
    expect([...decodeHostPayload(p)]).toEqual([1, 2, 3, 4, 5]);
  });

  it("refuses a payload whose length runs past the segment, or unknown flags", () => {
    const p = encodeHostPayload(new Uint8Array(8));
    new DataView(p.buffer).setUint32(16, 100, true);
    expect(() => decodeHostPayload(p)).toThrow(/says 100 bytes/);
    const q = encodeHostPayload(new Uint8Array(8));
    new DataView(q.buffer).setUint32(20, 1, true);
    expect(() => decodeHostPayload(q)).toThrow(/flags/);
  });
});

describe("wrapHostExecutable / extractHostExecutable", () => {
  for (const target of TARGET_NAMES) {
    it(`${target}: a valid app image that gives back the identical executable`, () => {
      const f = target === "esp32" ? { ...flash, freq: "40m" } : flash;
      const img = wrapHostExecutable(exe, { target, version: "0.1.0", flash: f, builtAt: when });
      const parsed = validateImage(img, { target, kind: "app", requireSha256: true });
      expect(parsed.header.chipId).toBe(TARGETS[target].chipId);
      expect(parsed.header.flashMode).toBe(2);
      expect(parsed.header.flashSizeCode).toBe(2);
      expect(parsed.checksum.valid).toBe(true);
      expect(parsed.sha256?.valid).toBe(true);
      expect(parsed.segments[0]!.kind).toBe("drom");
      expect(parsed.segments[0]!.dataOffset).toBe(0x20);
      expect(parsed.appDesc).toMatchObject({
        projectName: "rsagen",
        version: "0.1.0",
        idfVer: "host",
        time: "12:34:56",
        date: "Jan  5 2025",
      });
      expect(Buffer.from(parsed.appDesc!.appElfSha256).toString("hex")).toBe(
        createHash("sha256").update(exe).digest("hex"),
      );
      // The payload is the flash-mapped segment after the app description (on the C6 DROM and IROM
      // are one window, so "flash-mapped" rather than "irom").
      const payload = parsed.segments.slice(1).filter((s) => isFlashMapped(target, s.loadAddr));
      expect(payload).toHaveLength(1);
      expect(payload[0]!.dataOffset % 0x10000).toBe(payload[0]!.loadAddr % 0x10000);
      const back = extractHostExecutable(img);
      expect(Buffer.compare(Buffer.from(back), Buffer.from(exe))).toBe(0);
      expect(extractHostExecutable(img, { target }).length).toBe(exe.length);
    });
  }

  it("the extracted executable still runs", () => {
    const img = wrapHostExecutable(exe, { target: "esp32c3", version: "0.1.0", flash });
    const out = join(tmp, "extracted");
    writeFileSync(out, extractHostExecutable(img), { mode: 0o755 });
    expect(execFileSync(out, { encoding: "utf8" })).toBe("hello from the host\n");
  });

  it("a flipped byte in the executable fails validation (checksum and SHA-256)", () => {
    const img = wrapHostExecutable(exe, { target: "esp32c3", version: "0.1.0", flash });
    const seg = parseImage(img)
      .segments.slice(1)
      .find((s) => isFlashMapped("esp32c3", s.loadAddr))!;
    img[seg.dataOffset + 100]! ^= 0x01;
    expect(() => extractHostExecutable(img)).toThrow(/checksum|SHA-256|sha/i);
  });

  it("an image for another chip is refused when the target is given", () => {
    const img = wrapHostExecutable(exe, { target: "esp32s3", version: "0.1.0", flash });
    expect(() => extractHostExecutable(img, { target: "esp32c3" })).toThrow(/chip/i);
  });

  it("a normal (non-host) app image is not mistaken for one", () => {
    const t = TARGETS.esp32c3;
    const img = buildImage({
      target: "esp32c3",
      header: { entry: t.memory.irom.start + 0x10020 },
      segments: [
        { loadAddr: t.memory.drom.start + 0x20, data: wrapDesc() },
        { loadAddr: t.memory.irom.start + 0x10020, data: new Uint8Array(64) },
      ],
    });
    expect(() => extractHostExecutable(img)).toThrow(/not an rsagen host image/);
  });

  it("bad flash settings for the target are an error", () => {
    expect(() =>
      wrapHostExecutable(exe, { target: "esp32c6", version: "1", flash: { ...flash, freq: "26m" } }),
    ).toThrow(/not valid for ESP32-C6/);
  });
});

describe("host bootloader image", () => {
  for (const target of TARGET_NAMES) {
    it(`${target}: valid bootloader image with esp_bootloader_desc_t and RAM segments only`, () => {
      const f = target === "esp32" ? { ...flash, freq: "40m" } : flash;
      const img = buildHostBootloader({ target, version: "0.1.0", flash: f, builtAt: when });
      const p = validateImage(img, { target, kind: "bootloader", requireSha256: true });
      expect(p.bootloaderDesc).toEqual({ version: 1, idfVer: "host", dateTime: "Jan  5 2025 12:34:56" });
      expect(p.segments.every((s) => s.kind === "dram" || s.kind === "iram")).toBe(true);
    });
  }
});

function wrapDesc(): Uint8Array {
  // An ordinary app: descriptor of a different project, no host payload.
  const img = wrapHostExecutable(new Uint8Array(4), { target: "esp32c3", version: "9", flash });
  return parseImage(img).segments[0]!.data;
}
