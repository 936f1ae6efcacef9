/**
 * The board end to end over its RFC 2217 server: reset lines, boot log, image validation failures,
 * running the flashed host executable with the console on the wire, reboot on exit status 3 and
 * download mode on 4. The "firmware" is a tiny C program packaged with the build engineer's
 * wrapHostExecutable (contract C3), compiled here with the system gcc.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildHostBootloader, wrapHostExecutable } from "../../src/image/host-payload.js";
import { encodePartitionTable, parsePartitionCsv } from "../../src/partitions/index.js";
import { createTransport } from "../../src/serial/open-transport.js";
import type { Transport } from "../../src/serial/transport.js";
import { type Board, startBoard } from "../../src/sim/index.js";
import { TARGETS, type TargetName } from "../../src/targets.js";

const APP_C = `
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  const char *t = argc > 2 ? argv[2] : "?";
  printf("I (300) app: hello from %s\\r\\n", t);
  fflush(stdout);
  char line[128];
  while (fgets(line, sizeof line, stdin)) {
    if (strncmp(line, "reboot", 6) == 0) return 3;
    if (strncmp(line, "download", 8) == 0) return 4;
    printf("echo:%s", line);
    fflush(stdout);
  }
  return 0;
}
`;

let dir: string;
let exe: Uint8Array;
let board: Board | undefined;
let client: Transport | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "rsagen-sim-test-"));
  writeFileSync(join(dir, "app.c"), APP_C);
  execFileSync("gcc", ["-O1", "-o", join(dir, "app"), join(dir, "app.c")]);
  exe = readFileSync(join(dir, "app"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await client?.close().catch(() => undefined);
  await board?.close();
  client = undefined;
  board = undefined;
});

function flashImage(target: TargetName, mutateApp?: (app: Uint8Array) => void): Uint8Array {
  const t = TARGETS[target];
  const flash = new Uint8Array(t.defaultFlashSize).fill(0xff);
  const settings = { mode: "dio", size: "4MB", freq: "80m" };
  const builtAt = new Date("2025-01-01T12:34:56Z");
  flash.set(buildHostBootloader({ target, version: "0.1.0", flash: settings, builtAt }), t.bootloaderOffset);
  const csv = readFileSync(join(import.meta.dirname, "../../partitions/rsagen.csv"), "utf8");
  flash.set(encodePartitionTable(parsePartitionCsv(csv)), 0x8000);
  const app = wrapHostExecutable(exe, { target, version: "0.1.0", flash: settings, builtAt });
  mutateApp?.(app);
  flash.set(app, 0x10000);
  return flash;
}

/** Collects what the board sends; waitFor resolves once `text` has appeared. */
function collect(t: Transport) {
  let text = "";
  t.on("data", (c) => {
    text += Buffer.from(c).toString("latin1");
  });
  return {
    get text() {
      return text;
    },
    clear() {
      text = "";
    },
    async waitFor(needle: string | RegExp, ms = 10_000): Promise<string> {
      const start = Date.now();
      while (!(typeof needle === "string" ? text.includes(needle) : needle.test(text))) {
        if (Date.now() - start > ms) throw new Error(`timed out waiting for ${needle}; got:\n${text}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return text;
    },
  };
}

async function hardReset(t: Transport): Promise<void> {
  await t.setSignals({ dtr: false, rts: true });
  await new Promise((r) => setTimeout(r, 50));
  await t.setSignals({ dtr: false, rts: false });
}

describe("virtual board boot", () => {
  it("esp32c3: boots the flashed host app, console on the wire, reboots on 3, download mode on 4", async () => {
    board = await startBoard({ target: "esp32c3", flashImage: flashImage("esp32c3"), bootRetryMs: 60_000 });
    client = createTransport(board.url);
    await client.open();
    const out = collect(client);
    await hardReset(client);
    // The app started at power-on may still greet before the reset; wait for the reset's boot.
    const log = await out.waitFor(/Loaded app[\s\S]*hello from esp32c3/);
    expect(log).toContain(
      "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\nrst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\r\n",
    );
    expect(log).toMatch(/I \(\d+\) boot: ESP-IDF host 2nd stage bootloader\r\n/);
    expect(log).toMatch(/I \(\d+\) boot: {2}2 factory {10}factory app {6}00 00 00010000 00180000\r\n/);
    expect(log).toMatch(
      /I \(\d+\) esp_image: segment 0: paddr=00010020 vaddr=3c000020 size=\w+h \(\s*\d+\) map\r\n/,
    );
    expect(log).toMatch(/I \(\d+\) boot: Loaded app from partition at offset 0x10000\r\n/);
    await client.write(Buffer.from("ping\n"));
    await out.waitFor("echo:ping\n");
    out.clear();
    await client.write(Buffer.from("reboot\n"));
    const again = await out.waitFor("hello from esp32c3");
    expect(again).toContain("rst:0xc (RTC_SW_CPU_RST),boot:0xc (SPI_FAST_FLASH_BOOT)");
    out.clear();
    await client.write(Buffer.from("download\n"));
    const dl = await out.waitFor("wait uart0 download\r\n");
    expect(dl).toContain("rst:0xc (RTC_SW_CPU_RST),boot:0x2 (UART0_BOOT)");
    expect(board.chipState).toBe("download");
  });

  it("classic auto-reset (DTR/RTS) enters download mode and prints the captured ESP32 banner", async () => {
    board = await startBoard({ target: "esp32", flashImage: flashImage("esp32"), bootRetryMs: 60_000 });
    client = createTransport(board.url);
    await client.open();
    const out = collect(client);
    await client.setSignals({ dtr: false, rts: true });
    await new Promise((r) => setTimeout(r, 100));
    await client.setSignals({ dtr: true, rts: false });
    await new Promise((r) => setTimeout(r, 50));
    await client.setSignals({ dtr: false, rts: false });
    const banner = readFileSync(
      join(import.meta.dirname, "../vectors/rom-transcripts/esp32-rom-banner.bin"),
      "latin1",
    );
    expect(await out.waitFor(banner)).toContain(banner);
    expect(board.chipState).toBe("download");
  });

  it("a corrupted app fails like the real bootloader and retries", async () => {
    const flash = flashImage("esp32s3", (app) => {
      app[0x200] = (app[0x200]! ^ 0xff) & 0xff; // inside segment data: checksum and hash break
    });
    board = await startBoard({ target: "esp32s3", flashImage: flash, bootRetryMs: 100 });
    client = createTransport(board.url);
    await client.open();
    const out = collect(client);
    await hardReset(client);
    const log = await out.waitFor(/rst:0x3 \(RTC_SW_SYS_RST\)/);
    expect(log).toMatch(/E \(\d+\) esp_image: Checksum failed\. Calculated 0x[0-9a-f]+ read 0x[0-9a-f]+\r\n/);
    expect(log).toMatch(/E \(\d+\) boot: Factory app partition is not bootable\r\n/);
    expect(log).toMatch(/E \(\d+\) boot: No bootable app partitions in the partition table\r\n/);
    expect(log).not.toContain("hello from");
  });

  it("an erased flash prints the ROM's invalid header, an app for another chip is refused", async () => {
    board = await startBoard({ target: "esp32c6", bootRetryMs: 60_000 });
    client = createTransport(board.url);
    await client.open();
    const out = collect(client);
    await hardReset(client);
    await out.waitFor("invalid header: 0xffffffff\r\n");
    await client.close();
    await board.close();
    const c3App = flashImage("esp32c3");
    const flash = flashImage("esp32c6");
    flash.set(c3App.subarray(0x10000, 0x10000 + 0x100000), 0x10000);
    board = await startBoard({ target: "esp32c6", flashImage: flash, bootRetryMs: 60_000 });
    client = createTransport(board.url);
    await client.open();
    const out2 = collect(client);
    await hardReset(client);
    await out2.waitFor(/E \(\d+\) boot_comm: mismatch chip ID, expected 13, found 5\r\n/);
  });

  it("a reset fault after N received bytes reboots the chip", async () => {
    board = await startBoard({
      target: "esp32c3",
      flashImage: flashImage("esp32c3"),
      faults: { resetAfterRxBytes: 12 },
    });
    client = createTransport(board.url);
    await client.open();
    const out = collect(client);
    await hardReset(client);
    await out.waitFor(/Loaded app[\s\S]*hello from esp32c3/);
    out.clear();
    await client.write(Buffer.from("0123456789abcdef\n"));
    const log = await out.waitFor("hello from esp32c3");
    expect(log).toContain("rst:0x1 (POWERON)");
    expect(log).not.toContain("echo:");
  });
});
