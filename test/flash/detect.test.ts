/**
 * Chip detection on a line that damages answers (ROM replies carry no checksum): the in-process
 * virtual chip's GET_SECURITY_INFO replies get their chip id bits flipped on the way, as noise
 * would. One damaged answer must not make an ESP32-C3 an ESP32-C6 or an unknown chip; answers
 * that never agree are reported as a line fault (E_NO_SYNC), and a consistent unknown chip id is
 * still an unsupported chip. On the stub path esptool-js reads the chip id once more itself; a
 * damaged read of its own is read again the same way.
 */
import { describe, expect, it } from "vitest";
import { RsagenError } from "../../src/errors.js";
import { DETECT_READS } from "../../src/flash/detect.js";
import type { FlashEvent } from "../../src/flash/events.js";
import { planFlash } from "../../src/flash/plan.js";
import { type FlashOptions, flashBoard } from "../../src/flash/session.js";
import { stubPath } from "../../src/flash/stub-path.js";
import { buildFiles } from "./helpers/images.js";
import { SimPort } from "./helpers/sim-port.js";

const opts: FlashOptions = {
  before: "default-reset",
  after: "no-reset",
  stub: false,
  skip: true,
  eraseAll: false,
  force: false,
};
const plan = planFlash({
  target: "esp32c3",
  flash: { size: "4MB", mode: "dio", freq: "40m" },
  files: buildFiles("esp32c3", 16 * 1024),
});
const flashHolds = (port: SimPort) =>
  plan.regions.every((r) => Buffer.from(port.flash.read(r.offset, r.data.length)!).equals(r.data));

async function attempt(
  flips: number[],
  extra: Partial<FlashOptions> = {},
): Promise<{ port: SimPort; events: FlashEvent[]; error?: RsagenError }> {
  const port = new SimPort("esp32c3", { securityInfoChipIdFlips: flips });
  const events: FlashEvent[] = [];
  try {
    await flashBoard(port, plan, { ...opts, ...extra, onEvent: (e) => events.push(e) });
    return { port, events };
  } catch (err) {
    if (!(err instanceof RsagenError)) throw err;
    return { port, events, error: err };
  }
}

describe("chip detection on a damaging line", () => {
  for (const [what, mask, said] of [
    ["an ESP32-C6 (chip id 5 -> 13)", 0x8, "chip id 13"],
    ["an unknown chip (bit 17: chip id 131077)", 0x20000, "chip id 131077"],
  ] as const) {
    it(`one answer damaged into ${what}: read again, flashed as the ESP32-C3 it is, with a warning`, async () => {
      const { port, events, error } = await attempt([mask]);
      expect(error).toBeUndefined();
      expect(events.find((e) => e.event === "connected")).toMatchObject({ chip: "esp32c3" });
      const warning = events.find((e) => e.event === "warning" && /chip type took 3 reads/.test(e.message));
      expect(warning).toMatchObject({ message: expect.stringContaining(`${said}, chip id 5, chip id 5`) });
      expect(flashHolds(port)).toBe(true);
    });
  }

  it("answers that never agree: E_NO_SYNC naming the line fault, nothing written", async () => {
    const flips = Array.from({ length: DETECT_READS }, (_, i) => (i % 2 === 0 ? 0 : 0x8));
    const { port, error } = await attempt(flips);
    expect(error?.code).toBe("E_NO_SYNC");
    expect(error?.message).toMatch(
      /did not agree \(chip id 5, chip id 13, chip id 5, .*\): the serial line corrupts data/,
    );
    expect(plan.regions.some((r) => port.flash.read(r.offset, 16)!.some((b) => b !== 0xff))).toBe(false);
  });

  it("the same unknown chip id twice is an unsupported chip (E_CHIP_MISMATCH)", async () => {
    const { error } = await attempt([0x20000, 0x20000]);
    expect(error?.code).toBe("E_CHIP_MISMATCH");
    expect(error?.message).toBe("the board reports chip id 131077, which rsagen does not support");
  });

  it("stub path: esptool-js's own single read damaged into an ESP32-C6 is read again, then flashed", async () => {
    // Our two reads are intact; the third GET_SECURITY_INFO is esptool-js's (it reads the chip id too).
    const { port, events, error } = await attempt([0, 0, 0x8], { stub: true, stubPath });
    expect(error).toBeUndefined();
    expect(events.find((e) => e.event === "loader")).toMatchObject({ loader: "stub" });
    expect(flashHolds(port)).toBe(true);
  });

  it("stub path: esptool-js reading the chip differently each time is E_NO_SYNC, not a chip mismatch", async () => {
    const { port, error } = await attempt([0, 0, 0x8, 0x20000, 0x8], { stub: true, stubPath });
    expect(error?.code).toBe("E_NO_SYNC");
    expect(error?.message).toMatch(
      /^esptool-js read the chip as ESP32-C6, an unknown chip \(.*131077.*\), ESP32-C6, rsagen's agreeing reads as ESP32-C3: the serial line corrupts data$/,
    );
    expect(flashHolds(port)).toBe(false);
  });

  it("stub path: esptool-js naming the same other chip every time is still E_CHIP_MISMATCH", async () => {
    const { error } = await attempt([0, 0, 0x8, 0x8, 0x8], { stub: true, stubPath });
    expect(error?.code).toBe("E_CHIP_MISMATCH");
    expect(error?.message).toBe("esptool-js identified ESP32-C6 (3 times), rsagen ESP32-C3");
  });

  it("an undamaged line: two reads, no warning", async () => {
    const { events, error } = await attempt([]);
    expect(error).toBeUndefined();
    expect(events.some((e) => e.event === "warning")).toBe(false);
  });
});
