/**
 * The real firmware, built by ESP-IDF (`rsagen build`), on Espressif's QEMU with the chip's mask
 * ROM (`rsagen sim --engine qemu`'s board), driven by the compiled CLI exactly as a user drives a
 * board: flash into an erased chip, keygen 1024/2048/4096 (node:crypto and `openssl pkey -check`),
 * info, a timeout and Ctrl-C that leave the board idle, and a reset in the middle of a job.
 * The firmware is built with a 1 s task watchdog (ESP-IDF's smallest), so every key here is also a
 * watchdog trial. Runs where ESP-IDF (with the target's toolchain) and QEMU are installed;
 * elsewhere it skips with the reason. One test file per target calls realFirmwareSuite().
 */
import { execFileSync, spawn } from "node:child_process";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type QemuBoard, startQemuBoard } from "../../src/sim/qemu/board.js";
import type { TargetName } from "../../src/targets.js";
import { CLI, jsonLines } from "../helpers/run-cli.js";
import { buildReal, cli, copyFlash, realEnv, report } from "./real-fw.js";

export async function realFirmwareSuite(TARGET: TargetName, testFile: string): Promise<void> {
  const env = await realEnv(TARGET);
  if (!env.ok) console.log(`real-firmware tests (QEMU ${TARGET}) skipped: ${env.reason}`);
  report(testFile, env);
  /** What the ROM prints first on this chip. */
  const romBanner = TARGET === "esp32" ? /ets Jul 29 2019/ : /ESP-ROM:esp32c3/;
  const appBanner = new RegExp(`rsagen \\d+\\.\\d+\\.\\d+ on ${TARGET}, Mbed TLS 3\\.\\d+\\.\\d+`);

  const work = mkdtempSync(join(tmpdir(), "rsagen-qemu-e2e-"));
  const boards: QemuBoard[] = [];
  let buildDir = "";
  let golden = "";

  afterEach(async () => {
    for (const b of boards.splice(0)) await b.close();
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** A QEMU board on a copy of the flashed image, its output recorded. */
  async function board(flashFile: string): Promise<{ b: QemuBoard; log: () => string }> {
    const b = await startQemuBoard({ target: TARGET, flashFile });
    boards.push(b);
    let log = "";
    b.on("tx", (x) => {
      log += Buffer.from(x).toString("latin1");
    });
    return { b, log: () => log };
  }

  async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** `rsagen keygen --bits 4096` in the background, resolved once the board has started the job. */
  async function startKeygen4096(url: string, out: string) {
    const child = spawn(process.execPath, [CLI, "keygen", "--port", url, "--bits", "4096", "--out", out], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exit = new Promise<number | null>((r) => child.on("close", r));
    await until(() => /generating a 4096-bit key/.test(stderr), 60_000, "generation to start");
    return { child, stderr: () => stderr, exit };
  }

  let copies = 0;
  const freshFlash = () => copyFlash(golden, join(work, `flash-${++copies}.bin`));

  function verifyKeyFiles(dir: string, bits: number): void {
    const files = readdirSync(dir);
    const priv = files.find((f) => f.endsWith(".key.pem"));
    const pub = files.find((f) => f.endsWith(".pub.pem"));
    expect(priv && pub, files.join(",")).toBeTruthy();
    const key = createPrivateKey(readFileSync(join(dir, priv!)));
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(bits);
    const pk = createPublicKey(readFileSync(join(dir, pub!)));
    expect(pk.export({ format: "der", type: "spki" })).toEqual(
      createPublicKey(key).export({ format: "der", type: "spki" }),
    );
    // OpenSSL's own consistency check of the private key (p*q = n, d*e = 1 mod lcm, CRT values).
    const check = execFileSync("openssl", ["pkey", "-check", "-noout", "-in", join(dir, priv!)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(check).toMatch(/Key is valid/);
  }

  describe.skipIf(!env.ok)(`real firmware on the QEMU board (${TARGET})`, () => {
    /** The first flash of an erased chip, as `rsagen flash` did it, and what the board printed. */
    let flashed: { run: Awaited<ReturnType<typeof cli>>; log: string; images: boolean[] };

    beforeAll(async () => {
      buildDir = await buildReal(TARGET, ["--task-wdt", "1"]);
      golden = join(work, "golden.bin");
      const { b, log } = await board(golden);
      const run = await cli(["--json", "flash", "--port", b.url, "--build-dir", buildDir], {
        timeoutMs: 180_000,
      });
      if (run.status === 0) {
        await until(() => appBanner.test(log()), 120_000, "the app banner").catch(() => {});
      }
      // Every file of the build at its offset (the ESP32's bootloader sits at 0x1000, the C3's at 0).
      const manifest = JSON.parse(readFileSync(join(buildDir, "rsagen.json"), "utf8")) as {
        files: { offset: number; path: string }[];
      };
      flashed = {
        run,
        log: log(),
        images: manifest.files.map((f) => {
          const want = readFileSync(join(buildDir, f.path));
          return Buffer.from(b.readFlash(f.offset, want.length)).equals(want);
        }),
      };
      for (const x of boards.splice(0)) await x.close();
    }, 30 * 60_000);

    it("rsagen flash writes the ESP-IDF build into an erased chip; its bootloader boots the app", () => {
      const r = flashed.run;
      expect(r.status, r.stderr).toBe(0);
      const lines = jsonLines(r.stdout);
      const result = lines.at(-1)!.result as { chip: string; regions: { skipped: boolean }[] };
      expect(result.chip).toBe(TARGET);
      expect(result.regions).toHaveLength(3);
      // Under QEMU the flasher stub stops answering in the middle of the app; rsagen says so and
      // finishes with the ROM loader (regions the stub wrote and verified are skipped then).
      const warnings = lines.filter((l) => l.event === "warning").map((l) => String(l.message));
      if (warnings.length > 0) expect(warnings.join("\n")).toMatch(/retrying with the ROM loader/);
      // Byte for byte in the flash file: bootloader, partition table, app.
      expect(flashed.images).toEqual([true, true, true]);
      // The ROM printed its banner, ESP-IDF's bootloader validated and loaded the app, the app ran.
      expect(flashed.log).toMatch(romBanner);
      expect(flashed.log).toMatch(/boot: Loaded app from partition at offset 0x10000/);
      expect(flashed.log).toMatch(appBanner);
      expect(flashed.log).toMatch(/task wdt 1000 ms/);
    });

    it("keygen 1024, 2048 and 4096 bits: keys verified by node:crypto and openssl pkey -check", async () => {
      const { b, log } = await board(freshFlash());
      await until(() => /Returned from app_main/.test(log()), 120_000, "boot");
      for (const bits of [1024, 2048, 4096]) {
        const out = join(work, `keys-${bits}`);
        const r = await cli(["--json", "keygen", "--port", b.url, "--bits", String(bits), "--out", out], {
          timeoutMs: 300_000,
        });
        expect(r.status, r.stderr).toBe(0);
        verifyKeyFiles(out, bits);
      }
      expect(log()).not.toMatch(/task_wdt/);
      expect(log()).toMatch(/keygen: job 3: 4096-bit key in \d+ ms/);
    }, 900_000);

    it("rsagen info reports the real build: target, ESP-IDF, Mbed TLS, hw-mpi, the 1 s watchdog", async () => {
      const { b, log } = await board(freshFlash());
      await until(() => /Returned from app_main/.test(log()), 120_000, "boot");
      const r = await cli(["--json", "info", "--port", b.url]);
      expect(r.status, r.stderr).toBe(0);
      const info = jsonLines(r.stdout).at(-1)!.result as Record<string, unknown>;
      expect(info).toMatchObject({ target: TARGET, wdtTimeoutMs: 1000, jobState: 0 });
      expect(String(info.idfVersion)).toMatch(/^v5\.\d+/);
      expect(String(info.mbedtlsVersion)).toMatch(/^Mbed TLS 3\./);
      expect(info.featureNames).toEqual(expect.arrayContaining(["crypto-extra", "hw-mpi"]));
      expect(info.featureNames).not.toContain("host-build");
    }, 120_000);

    it("--timeout 300ms on a 4096-bit key: exit 33, no file, and the board is idle after", async () => {
      const { b, log } = await board(freshFlash());
      await until(() => /Returned from app_main/.test(log()), 120_000, "boot");
      const out = join(work, "timeout");
      const r = await cli(["keygen", "--port", b.url, "--bits", "4096", "--timeout", "300ms", "--out", out]);
      expect(r.status, r.stderr).toBe(33);
      expect(r.stderr).toMatch(/hint: raise --timeout/);
      expect(() => readdirSync(out)).toThrow();
      const info = await cli(["--json", "info", "--port", b.url]);
      expect((jsonLines(info.stdout).at(-1)!.result as { jobState: number }).jobState).toBe(0);
      expect(log()).toMatch(/job 1 cancelled and freed/);
      expect(log()).not.toMatch(/job 1: 4096-bit key in/);
    }, 180_000);

    it("Ctrl-C during a 4096-bit generation: cancel confirmed, exit 34, no file, board idle", async () => {
      const { b, log } = await board(freshFlash());
      await until(() => /Returned from app_main/.test(log()), 120_000, "boot");
      const out = join(work, "sigint");
      const { child, stderr, exit } = await startKeygen4096(b.url, out);
      await new Promise((r) => setTimeout(r, 800));
      child.kill("SIGINT");
      expect(await exit).toBe(34);
      expect(() => readdirSync(out)).toThrow();
      const info = await cli(["--json", "info", "--port", b.url]);
      expect((jsonLines(info.stdout).at(-1)!.result as { jobState: number }).jobState).toBe(0);
      expect(log()).toMatch(/job 1 cancelled and freed/);
      expect(log()).not.toMatch(/job 1: 4096-bit key in/);
    }, 180_000);

    it("a chip reset in the middle of a job: E_DEVICE_RESET (37), no file; the app reports a power-on reset", async () => {
      const { b, log } = await board(freshFlash());
      await until(() => /Returned from app_main/.test(log()), 120_000, "boot");
      const out = join(work, "reset");
      const { child, stderr, exit } = await startKeygen4096(b.url, out);
      await new Promise((r) => setTimeout(r, 500));
      const starts = b.qemuStarts;
      b.pulseReset();
      expect(await exit).toBe(37);
      expect(stderr()).toMatch(/reset/i);
      expect(b.qemuStarts).toBe(starts + 1);
      expect(() => readdirSync(out)).toThrow();
      // The restarted chip booted the app again from flash (a power-on reset: rst:0x1).
      expect(log()).toMatch(/rst:0x1 \(POWERON(_RESET)?\)[\s\S]*rst:0x1 \(POWERON(_RESET)?\)/);
      const info = await cli(["--json", "info", "--port", b.url]);
      expect(jsonLines(info.stdout).at(-1)!.result).toMatchObject({
        resetReason: 1,
        lastReset: "power-on",
        jobState: 0,
      });
    }, 180_000);
  });
}
