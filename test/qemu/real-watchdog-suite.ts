/**
 * The watchdog design on the real firmware (ESP-IDF's FreeRTOS and task watchdog, QEMU's timer
 * groups), at ESP-IDF's smallest task-watchdog timeout, 1 s:
 * - the negative control (generation inline in the command loop, the original bug) trips the task
 *   watchdog every time: the chip resets, the CLI reports it, no key is written;
 * - the threaded job (idle priority, supervised user entry) never trips it over many 4096-bit keys.
 * Runs where ESP-IDF and QEMU are installed; elsewhere it skips with the reason.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type QemuBoard, startQemuBoard } from "../../src/sim/qemu/board.js";
import type { TargetName } from "../../src/targets.js";
import { jsonLines } from "../helpers/run-cli.js";
import { buildReal, cli, realEnv, report } from "./real-fw.js";

export async function realWatchdogSuite(TARGET: TargetName, testFile: string): Promise<void> {
  /** Keys in the threaded trial (4096-bit, about 5 s each on the QEMU board with the RSA accelerator). */
  // The ESP32 machine emulates two Xtensa cores, several times slower than the C3's one: fewer keys.
  const THREADED_KEYS = Number(process.env.RSAGEN_QEMU_WDT_KEYS ?? (TARGET === "esp32" ? 4 : 12));
  /** 4096-bit keys without the accelerator (about a minute each at -icount 3 on this machine). */
  // The software-MPI trial costs a third firmware build and minutes per key: on the ESP32-C3 only
  // unless asked for (RSAGEN_QEMU_SW_KEYS).
  const SOFTWARE_KEYS = Number(process.env.RSAGEN_QEMU_SW_KEYS ?? (TARGET === "esp32" ? 0 : 2));
  const env = await realEnv(TARGET);
  if (!env.ok) console.log(`real-firmware watchdog tests (QEMU ${TARGET}) skipped: ${env.reason}`);
  report(testFile, env);
  /** IDF v5.2+ names the idle tasks IDLE0/IDLE1 on dual-core chips, IDLE on single-core ones. */
  const idle = TARGET === "esp32" ? "IDLE0" : "IDLE";

  const work = mkdtempSync(join(tmpdir(), "rsagen-qemu-wdt-"));
  const boards: QemuBoard[] = [];
  afterEach(async () => {
    for (const b of boards.splice(0)) await b.close();
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A QEMU board with `buildDir` flashed (ROM loader: the stub does not run under QEMU) and booted. */
  async function flashedBoard(buildDir: string, name: string): Promise<{ b: QemuBoard; log: () => string }> {
    const b = await startQemuBoard({ target: TARGET, flashFile: join(work, `${name}.bin`) });
    boards.push(b);
    let log = "";
    b.on("tx", (x) => {
      log += Buffer.from(x).toString("latin1");
    });
    const r = await cli(["flash", "--no-stub", "--port", b.url, "--build-dir", buildDir], {
      timeoutMs: 180_000,
    });
    expect(r.status, r.stderr).toBe(0);
    await until(() => /Returned from app_main/.test(log), 60_000, "the app");
    return { b, log: () => log };
  }

  describe.skipIf(!env.ok)(`task watchdog at 1 s on the real firmware (QEMU ${TARGET})`, () => {
    it(
      "negative control: inline generation trips the task watchdog every time (3 of 3)",
      async () => {
        const dir = await buildReal(TARGET, ["--inline-keygen", "--task-wdt", "1"]);
        const { b, log } = await flashedBoard(dir, "inline");
        for (let trial = 1; trial <= 3; trial++) {
          const before = log().length;
          const out = join(work, `inline-${trial}`);
          const r = await cli(["--json", "keygen", "--port", b.url, "--bits", "4096", "--out", out], {
            timeoutMs: 180_000,
          });
          const since = log().slice(before);
          expect(r.status, r.stdout + r.stderr).toBe(37); // E_DEVICE_RESET
          expect(JSON.stringify(jsonLines(r.stdout).at(-1))).toMatch(/task watchdog/i);
          expect(since).toMatch(/task_wdt: Task watchdog got triggered/);
          expect(since).toContain(`task_wdt:  - ${idle} (CPU 0)`);
          expect(since).toMatch(/task_wdt: CPU 0: cmd_loop/);
          expect(since).toMatch(
            /rst:0x[c37] \((RTC_SW_CPU_RST|SW_CPU_RESET|RTC_SW_SYS_RST|SW_RESET|TG0WDT_SYS_RST|TG0WDT_SYS_RESET)\)/,
          );
          expect(() => readdirSync(out)).toThrow();
          await until(
            () => /Returned from app_main/.test(log().slice(before)),
            60_000,
            "the app after the reset",
          );
          // The rebooted firmware tells why it restarted.
          const info = await cli(["--json", "info", "--port", b.url]);
          expect(jsonLines(info.stdout).at(-1)!.result).toMatchObject({
            resetReason: 6,
            lastReset: "task watchdog",
          });
        }
      },
      20 * 60_000,
    );

    it(
      `threaded job: ${THREADED_KEYS} keys of 4096 bits, never a watchdog reset, every key verified`,
      async () => {
        const dir = await buildReal(TARGET, ["--task-wdt", "1"]);
        const { b, log } = await flashedBoard(dir, "threaded");
        for (let i = 1; i <= THREADED_KEYS; i++) {
          const out = join(work, `threaded-${i}`);
          const r = await cli(["--json", "keygen", "--port", b.url, "--bits", "4096", "--out", out], {
            timeoutMs: 300_000,
          });
          expect(r.status, `key ${i}: ${r.stderr}`).toBe(0);
          expect(readdirSync(out).length).toBe(2);
        }
        expect(log()).not.toMatch(/task_wdt/);
        // Every job finished on the board, and the supervisor kept resetting its entry meanwhile.
        const jobs = [
          ...log().matchAll(/job (\d+): 4096-bit key in (\d+) ms, \d+ rng calls, (\d+) wdt resets/g),
        ];
        expect(jobs).toHaveLength(THREADED_KEYS);
        for (const j of jobs) expect(Number(j[3])).toBeGreaterThan(0);
      },
      40 * 60_000,
    );

    it.skipIf(SOFTWARE_KEYS === 0)(
      "software MPI: 4096-bit keys whose longest step without an RNG call outlasts the 1 s watchdog, and no reset",
      async () => {
        // Without the RSA accelerator one Miller-Rabin exponentiation or modular inverse of a
        // 4096-bit key runs for seconds with no callback (bench/results.md, qemu): exactly the step
        // that tripped the RNG-callback design. The job must come through untouched.
        const dir = await buildReal(TARGET, ["--no-hw-mpi", "--task-wdt", "1"]);
        const { b, log } = await flashedBoard(dir, "swmpi");
        for (let i = 1; i <= SOFTWARE_KEYS; i++) {
          const out = join(work, `swmpi-${i}`);
          const r = await cli(
            ["--json", "keygen", "--port", b.url, "--bits", "4096", "--timeout", "30m", "--out", out],
            { timeoutMs: 40 * 60_000 },
          );
          expect(r.status, `key ${i}: ${r.stdout}${r.stderr}`).toBe(0);
          expect(readdirSync(out).length).toBe(2);
        }
        expect(log()).not.toMatch(/task_wdt/);
        const gaps = [
          ...log().matchAll(/4096-bit key in \d+ ms, \d+ rng calls, \d+ wdt resets, max rng gap (\d+) us/g),
        ].map((m) => Number(m[1]));
        expect(gaps).toHaveLength(SOFTWARE_KEYS);
        // At least one callback-free step longer than the whole watchdog timeout (1 s).
        expect(Math.max(...gaps)).toBeGreaterThan(1_000_000);
      },
      60 * 60_000,
    );
  });
}
