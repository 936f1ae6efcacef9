/**
 * FlashSession on the ROM loader path against the virtual chip's loader (in process): fresh
 * flash, skipping, verify failure on a corrupting flash, a reset mid-write then a clean retry, a
 * vanishing port, chip mismatch, erase-all, and the reset at the end.
 */
import { describe, expect, it } from "vitest";
import type { FlashEvent } from "../../src/flash/events.js";
import { type FlashPlan, planFlash } from "../../src/flash/plan.js";
import { type FlashOptions, flashBoard } from "../../src/flash/session.js";
import { TARGET_NAMES, type TargetName } from "../../src/targets.js";
import { buildFiles } from "./helpers/images.js";
import { SimPort } from "./helpers/sim-port.js";

const base: FlashOptions = {
  before: "default-reset",
  after: "hard-reset",
  stub: false,
  skip: true,
  eraseAll: false,
  force: false,
};

function plan(target: TargetName, appSize?: number): FlashPlan {
  return planFlash({
    target,
    flash: { size: "4MB", mode: "dio", freq: "40m" },
    files: buildFiles(target, appSize),
  });
}

function flashHolds(port: SimPort, p: FlashPlan): boolean {
  return p.regions.every((r) => Buffer.from(port.flash.read(r.offset, r.data.length)!).equals(r.data));
}

describe("flash session, ROM loader only", () => {
  for (const target of TARGET_NAMES) {
    it(`${target}: fresh flash, then a re-flash that skips every region`, async () => {
      const port = new SimPort(target);
      const p = plan(target);
      const events: FlashEvent[] = [];
      const r1 = await flashBoard(port, p, { ...base, onEvent: (e) => events.push(e) });
      expect(r1.chip).toBe(target);
      expect(r1.loader).toBe("rom");
      expect(r1.regions.map((r) => r.skipped)).toEqual([false, false, false]);
      expect(flashHolds(port, p)).toBe(true);
      // The ROM writes before it replies and has one buffer: strictly one block at a time.
      expect(port.maxDataInFlight).toBe(1);
      expect(events.filter((e) => e.event === "region-done")).toHaveLength(3);
      const last = events.filter((e) => e.event === "progress").at(-1);
      expect(last).toMatchObject({ percent: 100 });
      // Hard reset: RTS asserted with DTR released, then both released.
      expect(port.signalLog.slice(-2)).toEqual([
        { dtr: false, rts: true },
        { dtr: false, rts: false },
      ]);
      const r2 = await flashBoard(port, p, base);
      expect(r2.regions.map((r) => r.skipped)).toEqual([true, true, true]);
      const r3 = await flashBoard(port, p, { ...base, skip: false });
      expect(r3.regions.map((r) => r.skipped)).toEqual([false, false, false]);
    });
  }

  it("uncompressed writes land too", async () => {
    const port = new SimPort("esp32s3");
    const p = plan("esp32s3", 10_001);
    await flashBoard(port, p, { ...base, compress: false });
    expect(flashHolds(port, p)).toBe(true);
  });

  it("refuses a board of another chip (E_CHIP_MISMATCH), --force writes anyway", async () => {
    const port = new SimPort("esp32c6");
    const p = plan("esp32c3");
    await expect(flashBoard(port, p, base)).rejects.toMatchObject({ code: "E_CHIP_MISMATCH" });
    expect(port.flash.read(0x10000, 4)).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    const r = await flashBoard(port, p, { ...base, force: true });
    expect(r.chip).toBe("esp32c6");
    expect(flashHolds(port, p)).toBe(true);
  });

  it("a flash that corrupts a write fails verification (E_VERIFY_FAILED), never success", async () => {
    const port = new SimPort("esp32c3", { corruptAt: 0x10000 + 5000 });
    await expect(flashBoard(port, plan("esp32c3"), base)).rejects.toMatchObject({ code: "E_VERIFY_FAILED" });
  });

  it("a board reset mid-write fails clearly, and the next run completes cleanly", async () => {
    const port = new SimPort("esp32", { resetAfterDataFrames: 20 });
    const p = plan("esp32");
    const err = await flashBoard(port, p, base).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_FLASH_FAILED" });
    const r = await flashBoard(port, p, base);
    expect(r.regions.every((x) => x.md5.length === 32)).toBe(true);
    expect(flashHolds(port, p)).toBe(true);
  });

  it("a port that vanishes mid-write is E_PORT_LOST", async () => {
    const port = new SimPort("esp32s2", { vanishAfterDataFrames: 5 });
    await expect(flashBoard(port, plan("esp32s2"), base)).rejects.toMatchObject({ code: "E_PORT_LOST" });
  });

  it("--erase-all erases through FLASH_BEGIN, then writes", async () => {
    const port = new SimPort("esp32c3");
    port.flash.program(0x300000, new Uint8Array([1, 2, 3, 4]));
    const p = plan("esp32c3");
    await flashBoard(port, p, { ...base, eraseAll: true });
    expect(port.flash.read(0x300000, 4)).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    expect(flashHolds(port, p)).toBe(true);
  });

  it("without reset lines, --after hard-reset asks the ROM to reboot into the app", async () => {
    const port = new SimPort("esp32c3");
    port.noResetLines = true;
    const events: FlashEvent[] = [];
    const r = await flashBoard(port, plan("esp32c3"), { ...base, onEvent: (e) => events.push(e) });
    expect(r.after).toMatch(/soft reset/);
    await new Promise((res) => setImmediate(res));
    expect(port.reboots).toBe(1);
    expect(events.some((e) => e.event === "warning")).toBe(true);
  });

  it("no board at all: E_NO_SYNC naming the resets tried", async () => {
    const port = new SimPort("esp32");
    port.write = async () => {}; // a port with nothing behind it
    const err = await flashBoard(port, plan("esp32"), { ...base, connectAttempts: 2 }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: "E_NO_SYNC" });
    expect((err as Error).message).toMatch(/classic/);
  });
});
