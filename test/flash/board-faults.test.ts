/**
 * Faults of the virtual board itself (BoardOptions.faults), end to end over RFC 2217 with the
 * auto-reset circuit: a flash chip that stops programming, a reset in the middle of a write, and a
 * noisy line (bit flips, dropped and inserted bytes). Whatever happens, rsagen flash either fails
 * with a clear RsagenError or succeeds with every region's MD5 matching what is really in flash.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { RsagenError } from "../../src/errors.js";
import type { FlashEvent } from "../../src/flash/events.js";
import { type FlashPlan, planFlash } from "../../src/flash/plan.js";
import { type FlashOptions, type FlashResult, flashBoard } from "../../src/flash/session.js";
import { stubPath } from "../../src/flash/stub-path.js";
import { transportPort } from "../../src/flash/transport-port.js";
import { openTransport } from "../../src/serial/open-transport.js";
import type { Transport } from "../../src/serial/transport.js";
import { type Board, type BoardFaults, startBoard } from "../../src/sim/index.js";
import { closedAfterEach, E2E_FLASH_OPTIONS } from "./helpers/e2e.js";
import { buildFiles } from "./helpers/images.js";

const open = closedAfterEach<Board | Transport>();
const opts: FlashOptions = { ...E2E_FLASH_OPTIONS, connectAttempts: 3, stubPath };

const plan: FlashPlan = planFlash({
  target: "esp32c3",
  flash: { size: "4MB", mode: "dio", freq: "40m" },
  files: buildFiles("esp32c3", 64 * 1024),
});

async function attempt(board: Board, o: Partial<FlashOptions> = {}): Promise<FlashResult | RsagenError> {
  const t = await openTransport(board.url, { baud: 115200 });
  open.push(t);
  try {
    return await flashBoard(transportPort(t), plan, { ...opts, ...o });
  } catch (err) {
    // Never a bare Error, a hang or "success": a user-facing error with a code and a hint.
    expect(err).toBeInstanceOf(RsagenError);
    expect((err as RsagenError).hint).toBeTruthy();
    return err as RsagenError;
  } finally {
    await t.close();
  }
}

async function boardWith(faults: BoardFaults): Promise<Board> {
  const b = await startBoard({ target: "esp32c3", faults, bootRetryMs: 60_000 });
  open.push(b);
  return b;
}

const flashMatches = (b: Board) =>
  plan.regions.every(
    (r) => createHash("md5").update(b.flash.read(r.offset, r.data.length)!).digest("hex") === r.md5,
  );

describe("board faults over RFC 2217", () => {
  for (const stub of [true, false]) {
    it(`flash programming stuck (${stub ? "stub" : "ROM"}): E_FLASH_FAILED, nothing reported written`, async () => {
      const b = await boardWith({ flashStuckAfterBytes: 20_000 });
      const r = await attempt(b, { stub });
      expect(r).toMatchObject({ code: "E_FLASH_FAILED" });
      expect(flashMatches(b)).toBe(false);
    }, 60_000);

    it(`reset mid-write (${stub ? "stub" : "ROM"}): a clean failure, then a clean retry that verifies`, async () => {
      // ~40 KB into the session: during the app region, after the bootloader and table.
      const b = await boardWith({ resetAfterRxBytes: 40_000 });
      const first = await attempt(b, { stub });
      expect(first).toBeInstanceOf(RsagenError);
      expect((first as RsagenError).code).toMatch(/^E_(FLASH_FAILED|VERIFY_FAILED)$/);
      expect(flashMatches(b)).toBe(false);
      const second = await attempt(b, { stub });
      expect(second).not.toBeInstanceOf(RsagenError);
      expect(flashMatches(b)).toBe(true);
      // The regions verified before the reset were skipped the second time.
      expect((second as FlashResult).regions.some((x) => x.skipped)).toBe(true);
    }, 60_000);
  }

  it("noisy line (bit flips, drops, noise; several seeds): every outcome is an error or an MD5-verified flash", async () => {
    const outcomes: string[] = [];
    const lines: BoardFaults[] = [
      { bitFlipRate: 1e-4 },
      { dropRate: 1e-4 },
      { noiseRate: 1e-4 },
      { bitFlipRate: 1e-4, direction: "from-chip" },
    ];
    for (const [i, line] of lines.entries()) {
      for (const seed of [1, 2]) {
        const b = await boardWith({ ...line, seed: seed + 10 * i });
        const r = await attempt(b, { connectAttempts: 2 });
        if (r instanceof RsagenError) outcomes.push(r.code);
        else {
          expect(flashMatches(b)).toBe(true);
          outcomes.push("ok");
        }
        await b.close();
      }
    }
    // The knobs really hit: at least one run failed (and was reported as such).
    expect(outcomes.some((o) => o !== "ok")).toBe(true);
    // Never E_CHIP_MISMATCH: the board is the build's ESP32-C3, whatever the line does.
    for (const o of outcomes) expect(o).toMatch(/^(ok|E_FLASH_FAILED|E_VERIFY_FAILED|E_NO_SYNC)$/);
  }, 180_000);

  for (const stub of [true, false]) {
    it(`bit flips in the chip's detection answer (${stub ? "stub" : "ROM"}): read again, never taken for another chip`, async () => {
      // With this seed and rate the line flips bit 17 of GET_SECURITY_INFO's chip id (5 -> 131077);
      // rsagen used to stop there with E_CHIP_MISMATCH. The warning proves the flip still lands.
      const b = await boardWith({ bitFlipRate: 1e-2, direction: "from-chip", seed: 24 });
      const events: FlashEvent[] = [];
      const r = await attempt(b, { stub, connectAttempts: 3, onEvent: (e) => events.push(e) });
      expect(events.find((e) => e.event === "connected")).toMatchObject({ chip: "esp32c3" });
      expect(events).toContainEqual({
        event: "warning",
        message: expect.stringMatching(
          /^the chip type took \d+ reads .*chip id 131077.*: the line is noisy$/,
        ),
      });
      if (r instanceof RsagenError) expect(r.code).toMatch(/^(E_FLASH_FAILED|E_VERIFY_FAILED|E_NO_SYNC)$/);
      else expect(flashMatches(b)).toBe(true);
    }, 60_000);
  }
});
