/**
 * Port auto-detection in runFlash (no --port/ESPPORT/config): the board is found by USB VID/PID
 * through src/serial/ports.ts on a fake sysfs tree whose device node is a symlink to the virtual
 * board's pty, so the detected port is really opened and flashed. The USB identity picks the
 * reset strategy tried first; none or several boards -> E_NO_PORT listing the candidates.
 */
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { FlashEvent } from "../../src/flash/events.js";
import { type RunFlashOptions, runFlash } from "../../src/flash/run.js";
import { resolvePort } from "../../src/serial/ports.js";
import { type Board, startBoard } from "../../src/sim/index.js";
import { makeBuildDir } from "./helpers/build-dir.js";
import { enterDownloadMode } from "./helpers/download-mode.js";
import { E2E_FLASH_OPTIONS } from "./helpers/e2e.js";
import { addUsbTty, type FakeSysfs, fakeSysfs } from "./helpers/fake-sysfs.js";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(target: "esp32c3" | "esp32" = "esp32c3"): Promise<{
  board: Board;
  fs: FakeSysfs;
  buildDir: string;
}> {
  const board = await startBoard({ target, pty: true, bootRetryMs: 60_000 });
  cleanup.push(() => board.close());
  const fs = await fakeSysfs();
  cleanup.push(() => rmSync(fs.root, { recursive: true, force: true }));
  const buildDir = makeBuildDir(target);
  cleanup.push(() => rmSync(buildDir, { recursive: true, force: true }));
  await enterDownloadMode(board);
  return { board, fs, buildDir };
}

function options(fs: FakeSysfs, buildDir: string, events: FlashEvent[]): RunFlashOptions {
  return {
    port: undefined,
    buildDir,
    cwd: buildDir,
    discoverPort: (p) => resolvePort(p, { sysRoot: fs.sysRoot, devRoot: fs.devRoot }),
    ...E2E_FLASH_OPTIONS,
    connectAttempts: 3,
    onEvent: (e) => events.push(e),
  };
}

describe("rsagen flash finds the board by USB VID/PID", () => {
  it("one USB-Serial-JTAG board (303a:1001) among other ttys: detected, usb-reset tried first, flashed", async () => {
    const { board, fs, buildDir } = await setup("esp32c3");
    await addUsbTty(fs, "ttyACM0", "3-4", { vid: 0x303a, pid: 0x1001 }, board.ptyPath);
    await addUsbTty(fs, "ttyUSB3", "1-2", { vid: 0x067b, pid: 0x2303 }); // not an ESP bridge
    const events: FlashEvent[] = [];
    const r = await runFlash(options(fs, buildDir, events));
    expect(events[0]).toEqual({
      event: "port",
      path: path.join(fs.devRoot, "ttyACM0"),
      how: "detected",
      usb: { vid: 0x303a, pid: 0x1001 },
    });
    const tried = events.flatMap((e) => (e.event === "connecting" ? [e.reset] : []));
    expect(tried[0]).toBe("usb-serial-jtag");
    // The pty has no reset lines: the strategy falls back to a plain sync with the held board.
    expect(r.reset).toBe("no-reset");
    expect(r.chip).toBe("esp32c3");
    expect(r.regions.every((x) => !x.skipped)).toBe(true);
    for (const reg of r.regions) {
      const onBoard = createHash("md5").update(board.flash.read(reg.offset, reg.size)!).digest("hex");
      expect(onBoard).toBe(reg.md5);
    }
  });

  it("an explicit port still gets its USB identity; a CP210x port tries the classic reset first", async () => {
    const { board, fs, buildDir } = await setup("esp32");
    await addUsbTty(fs, "ttyUSB0", "1-1", { vid: 0x10c4, pid: 0xea60 }, board.ptyPath);
    const events: FlashEvent[] = [];
    const port = path.join(fs.devRoot, "ttyUSB0");
    const r = await runFlash({ ...options(fs, buildDir, events), port, stub: false });
    expect(events[0]).toMatchObject({ event: "port", path: port, how: "given", usb: { vid: 0x10c4 } });
    expect(events.find((e) => e.event === "connecting")).toMatchObject({ reset: "classic" });
    expect(r.loader).toBe("rom");
  });

  it("two boards: E_NO_PORT naming both, nothing opened", async () => {
    const fs = await fakeSysfs();
    cleanup.push(() => rmSync(fs.root, { recursive: true, force: true }));
    await addUsbTty(fs, "ttyUSB0", "1-1", { vid: 0x1a86, pid: 0x7523 });
    await addUsbTty(fs, "ttyACM0", "3-4", { vid: 0x303a, pid: 0x1001 });
    const buildDir = makeBuildDir("esp32s3");
    cleanup.push(() => rmSync(buildDir, { recursive: true, force: true }));
    const events: FlashEvent[] = [];
    const err = await runFlash(options(fs, buildDir, events)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_NO_PORT" });
    expect((err as Error).message).toMatch(/several boards found: .*ttyACM0 303a:1001.*ttyUSB0 1a86:7523/);
    expect(events).toEqual([]);
  });

  it("no board: E_NO_PORT listing the serial ports seen and hinting --port", async () => {
    const fs = await fakeSysfs();
    cleanup.push(() => rmSync(fs.root, { recursive: true, force: true }));
    await addUsbTty(fs, "ttyUSB7", "1-9", { vid: 0x067b, pid: 0x2303 });
    const buildDir = makeBuildDir("esp32s3");
    cleanup.push(() => rmSync(buildDir, { recursive: true, force: true }));
    const err = await runFlash(options(fs, buildDir, [])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_NO_PORT", hint: expect.stringMatching(/--port/) });
    expect((err as Error).message).toMatch(/no ESP32 board found \(serial ports: .*ttyUSB7 067b:2303\)/);
  });
});
