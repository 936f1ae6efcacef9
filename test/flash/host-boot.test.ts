/**
 * The whole path with the real firmware: `rsagen build --host --target esp32c3` (firmware/host via
 * CMake, packaged as ESP images), `rsagen flash` to the virtual board over RFC 2217 (auto-reset into
 * download mode, stub, hard reset on RTS), and the board then boots what was flashed: ESP-IDF style
 * ROM + bootloader log, the app's own log with its ready line, and the firmware's BOOT frame.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeAll } from "../../src/device/frame.js";
import { EventType } from "../../src/device/messages.js";
import { startBoard } from "../../src/sim/index.js";
import { jsonLines } from "../helpers/run-cli.js";
import { runCliAsync } from "./helpers/cli.js";

const tmp = mkdtempSync(join(tmpdir(), "rsagen-hostboot-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("flash the real host image and boot it", () => {
  it("esp32c3: build --host, flash via the CLI, hard reset, the app boots and sends BOOT", async () => {
    const built = await runCliAsync(
      ["build", "--host", "--target", "esp32c3", "--build-dir", join(tmp, "build")],
      { timeoutMs: 170_000 },
    );
    expect(built.status, built.stderr).toBe(0);
    const [folder] = readdirSync(join(tmp, "build")).filter((d) => d.startsWith("esp32c3-host"));
    expect(folder).toBeDefined();
    const board = await startBoard({ target: "esp32c3", bootRetryMs: 60_000 });
    try {
      // Everything the chip sends from here on: download-mode banner, loader traffic, then the boot.
      const rx: Buffer[] = [];
      board.on("tx", (b) => rx.push(Buffer.from(b)));
      // Before flashing the board's flash is empty: no app can be running.
      expect(board.chipState).not.toBe("app");
      const r = await runCliAsync([
        "flash",
        "--json",
        "--port",
        board.url,
        "--build-dir",
        join(tmp, "build", folder!),
        "--baud",
        "460800",
      ]);
      expect(r.status, r.stderr).toBe(0);
      const result = jsonLines(r.stdout).at(-1)!.result as { after: string; loader: string };
      expect(result).toMatchObject({ after: "hard reset (RTS)", loader: "stub" });
      // The CLI exits after its reset; the board is booting the new image by then or soon after.
      const deadline = Date.now() + 15_000;
      let text = "";
      let boot = false;
      while (Date.now() < deadline && !(boot && /: rsagen \S+ on esp32c3/.test(text))) {
        await new Promise((res) => setTimeout(res, 50));
        const { items } = decodeAll(Buffer.concat(rx));
        text = items.map((i) => (i.kind === "text" ? Buffer.from(i.bytes).toString("latin1") : "")).join("");
        boot = items.some((i) => i.kind === "frame" && i.type === EventType.BOOT);
      }
      // Only the boot after the flash can have loaded an app: the flash was empty before.
      text = text.slice(text.lastIndexOf("rst:"));
      expect(text).toMatch(/^rst:0x1 \(POWERON\),boot:0xc \(SPI_FAST_FLASH_BOOT\)/);
      expect(text).toMatch(/I \(\d+\) boot: Loaded app from partition at offset 0x10000/);
      expect(text).toMatch(/I \(\d+\) cpu_start: Pro cpu start user code/);
      expect(text).toMatch(/I \(\d+\) \w+: rsagen \S+ on esp32c3/);
      expect(boot).toBe(true);
      expect(board.chipState).toBe("app");
    } finally {
      await board.close();
    }
  }, 240_000);
});
