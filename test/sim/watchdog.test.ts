/**
 * The negative control on the virtual board (DESIGN.md section 2): the firmware built with
 * `rsagen build --host --inline-keygen` generates keys inside the command loop, starves the idle
 * task, and the emulated task watchdog must bite: the wire shows ESP-IDF's task_wdt report, then the
 * ROM banner of a CPU software reset (what esp_restart_noos() leaves after a TWDT panic), the 2nd-stage
 * boot log again, and the firmware's BOOT frame reporting ESP_RST_TASK_WDT. The same flow with the
 * normal (threaded) build never trips it: the job completes and the key verifies.
 *
 * Everything is the real thing: the CLI builds the firmware, the CLI flashes it over RFC 2217 into
 * a file-backed board, and the DeviceClient talks to it over the RFC 2217 client.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type BootInfo, DeviceClient } from "../../src/device/client.js";
import { duplexFromTransport } from "../../src/device/duplex.js";
import { openTransport } from "../../src/serial/open-transport.js";
import type { Transport } from "../../src/serial/transport.js";
import { type Board, ESP_RST, startBoard } from "../../src/sim/index.js";
import type { TargetName } from "../../src/targets.js";
import { verifyRsaKeyPair } from "../firmware/verify-key.js";
import { runCliAsync } from "../flash/helpers/cli.js";

const WDT_MS = 150;
// Fixed seeds make the 4096-bit workload reproducible (RSAGEN_FW_SEED, host only): these keys need
// 0.7-2.4 s of host CPU (test/firmware/watchdog.test.ts), many times the 150 ms timeout, just as a
// device-speed key outlasts the chip's 5 s.
const SEED = "inline-1";

/** The rst line a real ROM prints after esp_restart_noos() (CPU software reset, 0xc). */
const SW_CPU_RESET: Record<TargetName, RegExp> = {
  esp32: /rst:0xc \(SW_CPU_RESET\),boot:0x13 \(SPI_FAST_FLASH_BOOT\)\r?$/,
  esp32s2: /rst:0xc \(RTC_SW_CPU_RST\),boot:/,
  esp32s3: /rst:0xc \(RTC_SW_CPU_RST\),boot:/,
  esp32c3: /rst:0xc \(RTC_SW_CPU_RST\),boot:0xc \(SPI_FAST_FLASH_BOOT\)\r?$/,
  esp32c6: /rst:0xc \(SW_CPU\),boot:/,
};

const work = mkdtempSync(join(tmpdir(), "rsagen-sim-wdt-"));
const builds = new Map<string, string>();
let board: Board | undefined;
let transport: Transport | undefined;
let client: DeviceClient | undefined;

async function build(target: TargetName, inline: boolean): Promise<void> {
  const args = ["build", "--host", "--target", target, "--build-dir", work];
  const r = await runCliAsync(inline ? [...args, "--inline-keygen"] : args, { timeoutMs: 300_000 });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  builds.set(`${target}:${inline}`, join(work, `${target}-host-cx${inline ? "-inline" : ""}`));
}

beforeAll(async () => {
  for (const target of ["esp32c3", "esp32"] as const) {
    await build(target, true);
    await build(target, false);
  }
}, 600_000);
afterEach(async () => {
  client?.close();
  await transport?.close().catch(() => undefined);
  await board?.close();
  client = undefined;
  transport = undefined;
  board = undefined;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

type Seen = { line: string } | { boot: BootInfo };

/** A board with the given build flashed by `rsagen flash`, and a DeviceClient on its RFC 2217 port. */
async function flashedBoard(target: TargetName, inline: boolean): Promise<{ c: DeviceClient; seen: Seen[] }> {
  board = await startBoard({
    target,
    flashFile: join(work, `${target}-${inline ? "inline" : "threaded"}.flash`),
    wdtMs: WDT_MS,
    appEnv: { RSAGEN_FW_SEED: SEED },
  });
  const dir = builds.get(`${target}:${inline}`)!;
  const r = await runCliAsync(["flash", "--port", board.url, "--build-dir", dir], { timeoutMs: 120_000 });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  transport = await openTransport(board.url);
  client = new DeviceClient(duplexFromTransport(transport));
  const seen: Seen[] = [];
  client.on("text", (line) => seen.push({ line }));
  client.on("event", (e) => {
    if (e.kind === "boot") seen.push({ boot: e.boot });
  });
  const hello = await client.hello({ timeoutMs: 3000, retries: 3 });
  expect(hello.target).toBe(target);
  return { c: client, seen };
}

function indexOf(seen: Seen[], from: number, test: (s: Seen) => boolean, what: string): number {
  const i = seen.findIndex((s, k) => k >= from && test(s));
  if (i < 0) {
    const lines = seen.map((s) => ("line" in s ? s.line : `<BOOT ${JSON.stringify(s.boot)}>`));
    throw new Error(`not on the wire after entry ${from}: ${what}\n${lines.join("\n")}`);
  }
  return i;
}
const lineMatching = (re: RegExp) => (s: Seen) => "line" in s && re.test(s.line);

describe("task watchdog on the virtual board", () => {
  for (const target of ["esp32c3", "esp32"] as const) {
    it(`inline keygen build: the watchdog bites and the chip resets and boots again (${target})`, {
      timeout: 120_000,
    }, async () => {
      const { c, seen } = await flashedBoard(target, true);
      const info = await c.hello();
      expect(info.flags.inlineKeygen).toBe(true);
      const rebooted = c.waitForEvent("boot", 30_000);
      const start = seen.length;
      await c.keygen({ bits: 4096, exponent: 65537 });
      const boot = (await rebooted).boot;

      const wdt = indexOf(
        seen,
        start,
        lineMatching(/^E \(\d+\) task_wdt: Task watchdog got triggered/),
        "TWDT report",
      );
      const idle = target === "esp32" ? "IDLE0" : "IDLE";
      indexOf(seen, wdt, lineMatching(new RegExp(`task_wdt:  - ${idle} \\(CPU 0\\)`)), "starved idle task");
      indexOf(seen, wdt, lineMatching(/task_wdt: CPU 0: cmd_loop/), "the command loop hogging CPU 0");
      const banner = indexOf(
        seen,
        wdt,
        lineMatching(target === "esp32" ? /^ets Jul 29 2019/ : /^ESP-ROM:esp32c3-api1-20210207/),
        "ROM banner",
      );
      const rst = indexOf(
        seen,
        banner,
        lineMatching(SW_CPU_RESET[target]),
        "rst:0xc software CPU reset line",
      );
      if (target === "esp32c3") {
        expect(seen[rst + 1]).toEqual({ line: "Saved PC:0x403818dc" });
      } else {
        expect(seen.slice(banner, rst + 3).some((s) => "line" in s && s.line.startsWith("Saved PC"))).toBe(
          false,
        );
      }
      const bl = indexOf(
        seen,
        rst,
        lineMatching(/^I \(\d+\) boot: ESP-IDF .* 2nd stage bootloader/),
        "2nd stage",
      );
      const loaded = indexOf(
        seen,
        bl,
        lineMatching(/boot: Loaded app from partition at offset 0x10000/),
        "app load",
      );
      const bootAt = indexOf(seen, loaded, (s) => "boot" in s, "BOOT frame");
      expect(seen.slice(wdt, bootAt).filter((s) => "boot" in s)).toHaveLength(0);
      // The firmware learns why it restarted, as esp_reset_reason() tells it on the chip.
      expect(boot.resetReason).toBe(ESP_RST.TASK_WDT);
      expect(boot.target).toBe(target);
      expect(board!.chipState).toBe("app");
      // The restarted firmware answers and holds no job: nothing of the inline key survived.
      expect((await c.hello()).jobState).toBe("idle");
    });

    it(`threaded build: the same 4096-bit job completes without a watchdog report (${target})`, {
      timeout: 120_000,
    }, async () => {
      const { c, seen } = await flashedBoard(target, false);
      expect((await c.hello()).flags.inlineKeygen).toBe(false);
      const done = c.waitForEvent("done", 60_000);
      const start = seen.length; // the BOOT of the power-on after flashing may arrive late: not counted
      await c.keygen({ bits: 4096, exponent: 65537 });
      const status = (await done).status;
      expect(status.state).toBe("done");
      const priv = await c.readPart("priv", status.privLen);
      const pub = await c.readPart("pub", status.pubLen);
      verifyRsaKeyPair(Buffer.from(priv), Buffer.from(pub), 4096);
      expect(seen.some((s) => "line" in s && s.line.includes("task_wdt"))).toBe(false);
      expect(seen.slice(start).some((s) => "boot" in s)).toBe(false);
      expect(board!.chipState).toBe("app");
    });
  }
});
