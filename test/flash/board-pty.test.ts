/**
 * The virtual board's pty (no reset lines), as with a board someone put into download mode by hand
 * (BOOT + RESET): `--before no-reset` syncs with the waiting ROM, flashes through the stub or the
 * ROM loader, and `--after hard-reset` falls back to telling the loader to run the app (the pty
 * cannot pulse RTS). A board that booted normally is a clear E_NO_SYNC, not a hang.
 */
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { FlashEvent } from "../../src/flash/events.js";
import { runFlash } from "../../src/flash/run.js";
import { openTransport } from "../../src/serial/open-transport.js";
import { type Board, type ChipState, startBoard } from "../../src/sim/index.js";
import { makeBuildDir } from "./helpers/build-dir.js";
import { enterDownloadMode } from "./helpers/download-mode.js";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function board(target: "esp32s3" | "esp32c6"): Promise<Board> {
  const b = await startBoard({ target, pty: true, bootRetryMs: 60_000 });
  cleanup.push(() => b.close());
  return b;
}

function buildDir(target: "esp32s3" | "esp32c6"): string {
  const dir = makeBuildDir(target, 40_000);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const base = {
  before: "no-reset",
  after: "hard-reset",
  skip: true,
  eraseAll: false,
  force: false,
  connectAttempts: 2,
} as const;

describe("flash over the virtual board's pty with --before no-reset", () => {
  for (const stub of [true, false]) {
    it(`esp32s3 held in download mode, ${stub ? "stub" : "ROM only"}: flashed, verified, then the board leaves the loader`, async () => {
      const b = await board("esp32s3");
      await enterDownloadMode(b);
      const states: ChipState[] = [];
      b.on("state", (s) => states.push(s));
      const dir = buildDir("esp32s3");
      const events: FlashEvent[] = [];
      const r = await runFlash({
        ...base,
        stub,
        port: b.ptyPath!,
        buildDir: dir,
        cwd: dir,
        onEvent: (e) => events.push(e),
      });
      expect(r.reset).toBe("no-reset");
      expect(r.loader).toBe(stub ? "stub" : "rom");
      expect(events.filter((e) => e.event === "connecting").map((e) => e.reset)).toEqual(["no-reset"]);
      for (const reg of r.regions) {
        expect(reg.skipped).toBe(false);
        const md5 = createHash("md5").update(b.flash.read(reg.offset, reg.size)!).digest("hex");
        expect(md5).toBe(reg.md5);
      }
      expect(r.after).toMatch(/soft reset/);
      // RUN_USER_CODE (stub) / FLASH_END reboot (ROM): the chip leaves download mode and boots.
      for (let i = 0; i < 100 && !states.includes("booting"); i++)
        await new Promise((res) => setTimeout(res, 10));
      expect(states).toContain("booting");
      expect(b.chipState).not.toBe("download");
    });
  }

  it("a board that booted normally: E_NO_SYNC saying so and hinting BOOT + --before no-reset", async () => {
    const b = await board("esp32c6");
    const dir = buildDir("esp32c6");
    // While rsagen syncs, someone presses RESET without BOOT: the ROM banner says it boots from flash.
    const reset = (async () => {
      await new Promise((res) => setTimeout(res, 150));
      const t = await openTransport(b.url);
      await t.setSignals({ dtr: false, rts: true });
      await new Promise((res) => setTimeout(res, 20));
      await t.setSignals({ dtr: false, rts: false });
      await t.close();
    })();
    const err = await runFlash({ ...base, stub: true, port: b.ptyPath!, buildDir: dir, cwd: dir }).catch(
      (e: unknown) => e,
    );
    await reset;
    expect(err).toMatchObject({ code: "E_NO_SYNC", hint: expect.stringMatching(/hold BOOT/) });
    expect((err as Error).message).toMatch(/booted normally \(boot:0xc\)/);
  });
});
