/**
 * The ROM-only loader against real ROM conversations (esptool v5.3.0 with the ESP32-C3 and ESP32
 * mask ROMs in QEMU): for the write-flash and verify-flash sessions, every frame rsagen sends must
 * be one esptool sent, and the flash-related frames (SYNC, SPI_ATTACH, SPI_SET_PARAMS, FLASH_*,
 * SPI_FLASH_MD5) must equal esptool's, byte for byte and in order. The chip side is the ROM's
 * recorded replies, including the 7 copies of the ESP32's "unsupported" answer esptool drained.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { planFlash } from "../../src/flash/plan.js";
import { flashBoard } from "../../src/flash/session.js";
import { frameOp, ScriptedRomPort, TRANSCRIPTS } from "./helpers/scripted-rom.js";

const payload = new Uint8Array(readFileSync(`${TRANSCRIPTS}payload4k.bin`));
const FLASH_OPS = new Set([0x08, 0x0d, 0x0b, 0x02, 0x03, 0x04, 0x10, 0x11, 0x12, 0x13]);
const flashFrames = (frames: string[]) => frames.filter((f) => FLASH_OPS.has(frameOp(f)));

function plan(target: "esp32" | "esp32c3") {
  return planFlash({
    target,
    flash: { size: "4MB", mode: "dio", freq: "40m" },
    files: [{ name: "payload4k.bin", offset: 0x10000, data: payload }],
  });
}

const sessions = [
  { chip: "esp32c3", name: "write-flash-compressed", compress: true, skip: false, wrote: true },
  { chip: "esp32c3", name: "write-flash-no-compress", compress: false, skip: false, wrote: true },
  { chip: "esp32c3", name: "verify-flash", compress: true, skip: true, wrote: false },
  { chip: "esp32", name: "write-flash-compressed", compress: true, skip: false, wrote: true },
  { chip: "esp32", name: "write-flash-no-compress", compress: false, skip: false, wrote: true },
  { chip: "esp32", name: "verify-flash", compress: true, skip: true, wrote: false },
] as const;

describe("ROM loader replays real ROM transcripts", () => {
  for (const s of sessions) {
    it(`${s.chip} ${s.name}: byte-identical frames`, async () => {
      const port = new ScriptedRomPort(`${s.chip}-${s.name}`);
      const result = await flashBoard(port, plan(s.chip), {
        before: "no-reset",
        after: "no-reset",
        stub: false,
        skip: s.skip,
        eraseAll: false,
        force: false,
        compress: s.compress,
      });
      expect(port.unknown).toEqual([]);
      expect(flashFrames(port.written)).toEqual(flashFrames(port.esptoolFrames));
      expect(result.chip).toBe(s.chip);
      expect(result.loader).toBe("rom");
      expect(result.regions).toHaveLength(1);
      expect(result.regions[0]!.md5).toBe("355614bdca4074a488371bbb6aba3801");
      expect(result.regions[0]!.skipped).toBe(!s.wrote);
    });
  }

  it("a write session replayed with skipping on sends an MD5 first (not what esptool sent)", async () => {
    // The negative control: the comparison above does notice a different command sequence.
    const port = new ScriptedRomPort("esp32c3-write-flash-compressed");
    await flashBoard(port, plan("esp32c3"), {
      before: "no-reset",
      after: "no-reset",
      stub: false,
      skip: true,
      eraseAll: false,
      force: false,
    });
    expect(flashFrames(port.written)).not.toEqual(flashFrames(port.esptoolFrames));
  });

  it("refuses a build for another chip before writing anything", async () => {
    const port = new ScriptedRomPort("esp32-write-flash-compressed");
    await expect(
      flashBoard(port, plan("esp32c3"), {
        before: "no-reset",
        after: "no-reset",
        stub: false,
        skip: false,
        eraseAll: false,
        force: false,
      }),
    ).rejects.toMatchObject({ code: "E_CHIP_MISMATCH" });
    expect(port.written.map(frameOp)).not.toContain(0x10);
    expect(port.written.map(frameOp)).not.toContain(0x02);
  });
});
