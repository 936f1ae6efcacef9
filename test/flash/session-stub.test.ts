/**
 * FlashSession through the flasher stub (started by esptool-js 0.7.0, then driven by our loader),
 * against the virtual chip's loader (which recognises the stub upload and then answers as the stub:
 * 2 status bytes, raw MD5).
 */
import { describe, expect, it } from "vitest";
import type { FlashEvent } from "../../src/flash/events.js";
import { type FlashPlan, planFlash } from "../../src/flash/plan.js";
import { type FlashOptions, flashBoard } from "../../src/flash/session.js";
import { stubPath } from "../../src/flash/stub-path.js";
import { TARGET_NAMES, type TargetName } from "../../src/targets.js";
import { buildFiles } from "./helpers/images.js";
import { SimPort } from "./helpers/sim-port.js";

const base: FlashOptions = {
  before: "default-reset",
  after: "hard-reset",
  stub: true,
  skip: true,
  eraseAll: false,
  force: false,
  baud: 921600,
  stubPath,
};

function plan(target: TargetName): FlashPlan {
  return planFlash({
    target,
    flash: { size: "4MB", mode: "dio", freq: "40m" },
    files: buildFiles(target, 100_000),
  });
}

const holds = (port: SimPort, p: FlashPlan) =>
  p.regions.every((r) => Buffer.from(port.flash.read(r.offset, r.data.length)!).equals(r.data));

describe("flash session, esptool-js stub path", () => {
  for (const target of TARGET_NAMES) {
    it(`${target}: stub upload, baud switch, fresh flash, then everything skipped`, async () => {
      const port = new SimPort(target);
      const p = plan(target);
      const events: FlashEvent[] = [];
      const r = await flashBoard(port, p, { ...base, onEvent: (e) => events.push(e) });
      expect(r.loader).toBe("stub");
      expect(port.chipIsStub).toBe(true);
      expect(port.baud).toBe(921600);
      expect(holds(port, p)).toBe(true);
      expect(events.find((e) => e.event === "loader")).toMatchObject({ loader: "stub", baud: 921600 });
      // One block in flight, never more: the stub has two receive buffers.
      expect(port.maxDataInFlight).toBe(2);
      // The stub is still running: the next session finds it (SYNC val 0) and skips everything.
      const r2 = await flashBoard(port, p, base);
      expect(r2.regions.map((x) => x.skipped)).toEqual([true, true, true]);
    });
  }

  it("a corrupting flash fails verification", async () => {
    const port = new SimPort("esp32s3", { corruptAt: 0x10000 + 70_000 });
    await expect(flashBoard(port, plan("esp32s3"), base)).rejects.toMatchObject({ code: "E_VERIFY_FAILED" });
  });

  it("--erase-all uses the stub's ERASE_FLASH", async () => {
    const port = new SimPort("esp32c6");
    port.flash.program(0x700000, new Uint8Array([0, 0, 0, 0]));
    await flashBoard(port, plan("esp32c6"), { ...base, eraseAll: true });
    expect(port.flash.read(0x700000, 4)).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  });

  it("a board reset mid-write fails clearly (never success), and the next run completes cleanly", async () => {
    const port = new SimPort("esp32c3", { resetAfterDataFrames: 3 });
    const p = plan("esp32c3");
    const err = await flashBoard(port, p, base).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_FLASH_FAILED" });
    const r = await flashBoard(port, p, base);
    expect(r.regions.some((x) => !x.skipped)).toBe(true);
    expect(holds(port, p)).toBe(true);
  });
});
