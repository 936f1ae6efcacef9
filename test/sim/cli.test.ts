/**
 * `rsagen sim` as a user runs it (compiled CLI, bin/rsagen): it prints its rfc2217:// address (and
 * the pty path with --pty), boots the firmware in its flash file, honours DTR/RTS resets, passes
 * --wdt-ms to the firmware, injects --fault knobs, rejects bad options with one-line E_USAGE errors,
 * and on SIGINT exits 0 with the firmware process and its temp files gone.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { hostBuild } from "../../src/build/host-build.js";
import { loadManifest } from "../../src/build/manifest.js";
import { DeviceClient } from "../../src/device/client.js";
import { duplexFromTransport } from "../../src/device/duplex.js";
import { EXIT_CODES } from "../../src/errors.js";
import { openTransport } from "../../src/serial/open-transport.js";
import type { Transport } from "../../src/serial/transport.js";
import { ESP_RST } from "../../src/sim/index.js";
import { TARGETS } from "../../src/targets.js";
import { CLI, REPO_ROOT, runCli } from "../helpers/run-cli.js";

const work = mkdtempSync(join(tmpdir(), "rsagen-sim-cli-"));
let flashImage: Uint8Array;
const running: Sim[] = [];
const transports: Transport[] = [];

beforeAll(async () => {
  const r = await hostBuild({
    projectRoot: REPO_ROOT,
    buildRoot: join(work, "build"),
    target: "esp32c3",
    toggles: { hwMpi: true, cryptoExtra: true, inlineKeygen: false },
    version: "0.1.0",
  });
  flashImage = new Uint8Array(TARGETS.esp32c3.defaultFlashSize).fill(0xff);
  for (const f of loadManifest(r.dir).files) flashImage.set(f.data, f.offset);
}, 300_000);
afterEach(async () => {
  for (const t of transports.splice(0)) await t.close().catch(() => undefined);
  for (const s of running.splice(0)) {
    s.proc.kill("SIGKILL");
    await s.exited;
  }
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Sim {
  proc: ChildProcess;
  url: string;
  ptyPath: string | undefined;
  /** Private TMPDIR of this CLI: the firmware's temp copy lives under it. */
  tmp: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

let nextId = 0;

/** Starts `rsagen sim` with a flash file holding the firmware; resolves once it printed its address. */
async function startSim(args: string[]): Promise<Sim> {
  const id = nextId++;
  const tmp = join(work, `tmp-${id}`);
  mkdirSync(tmp);
  const flash = join(work, `flash-${id}.bin`);
  writeFileSync(flash, flashImage);
  const proc = spawn(
    process.execPath,
    [CLI, "sim", "--target", "esp32c3", "--listen", "127.0.0.1:0", "--flash", flash, ...args],
    { env: { ...process.env, TMPDIR: tmp }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const sim: Sim = { proc, url: "", ptyPath: undefined, tmp, stdout: () => out, stderr: () => err, exited };
  running.push(sim);
  for (let i = 0; i < 200; i++) {
    // Human output: the address is an event line on stderr; --json: a "listening" object on stdout.
    const both = `${out}\n${err}`;
    const url = /virtual ESP32-C3 on (rfc2217:\/\/127\.0\.0\.1:\d+)|"url":"(rfc2217:[^"]+)"/.exec(both);
    const wantPty = args.includes("--pty");
    const pty = /console pty: (\S+)/.exec(both)?.[1];
    if (url && (!wantPty || pty)) return Object.assign(sim, { url: url[1] ?? url[2]!, ptyPath: pty });
    if (proc.exitCode !== null) break;
    await sleep(25);
  }
  throw new Error(`rsagen sim did not print its address:\n${out}\n${err}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Direct children of a process (all its threads), from /proc. */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
    if (kids) out.push(...kids.split(/\s+/).map(Number));
  }
  return out;
}

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));

/** Collects console text from a transport until `re` matches (or times out). */
async function readUntil(t: Transport, re: RegExp, ms = 10_000): Promise<string> {
  let text = "";
  return new Promise((resolve, reject) => {
    const onData = (b: Uint8Array) => {
      text += Buffer.from(b).toString("latin1");
      if (re.test(text)) done(() => resolve(text));
    };
    const timer = setTimeout(() => done(() => reject(new Error(`no ${re} in:\n${text}`))), ms);
    const done = (f: () => void) => {
      clearTimeout(timer);
      t.off("data", onData);
      f();
    };
    t.on("data", onData);
  });
}

describe("rsagen sim (CLI)", () => {
  it("serves RFC 2217, reboots on a DTR/RTS reset with the ROM banner, passes --wdt-ms, and stops cleanly on SIGINT", {
    timeout: 60_000,
  }, async () => {
    const sim = await startSim(["--wdt-ms", "1234"]);
    const t = await openTransport(sim.url);
    transports.push(t);
    // EN pulse through the auto-reset circuit (RTS asserted, DTR released), then release both.
    // Wait for the banner of this reset and the app after it: the power-on boot the CLI made at start
    // may still be printing its own app log when we connect (slow on a loaded machine).
    const seen = readUntil(t, /ESP-ROM:[\s\S]*task wdt 1234 ms/);
    await t.setSignals({ dtr: false, rts: true });
    await sleep(20);
    await t.setSignals({ dtr: false, rts: false });
    const text = await seen;
    expect(text).toMatch(
      /ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb {2}7 2021\r\nrst:0x1 \(POWERON\),boot:0xc \(SPI_FAST_FLASH_BOOT\)\r\n/,
    );
    expect(text).toMatch(/I \(\d+\) boot: Loaded app from partition at offset 0x10000/);

    // Download mode through the same lines (DTR holds the strap low while EN rises).
    const dl = readUntil(t, /waiting for download|wait uart0 download/);
    await t.setSignals({ dtr: false, rts: true });
    await sleep(20);
    await t.setSignals({ dtr: true, rts: false });
    await sleep(20);
    await t.setSignals({ dtr: false, rts: false });
    expect(await dl).toMatch(/rst:0x1 \(POWERON\),boot:0x2 \(UART0_BOOT\)\r\nwait uart0 download/);

    // Back into the app, then check the firmware process is a child of the CLI.
    const app = readUntil(t, /task wdt 1234 ms/);
    await t.setSignals({ dtr: false, rts: true });
    await sleep(20);
    await t.setSignals({ dtr: false, rts: false });
    await app;
    await t.close();
    const kids = childPids(sim.proc.pid!);
    expect(kids.length).toBeGreaterThan(0);
    expect(readdirSync(sim.tmp).some((d) => d.startsWith("rsagen-sim-app-"))).toBe(true);

    sim.proc.kill("SIGINT");
    expect(await sim.exited).toBe(0);
    expect(sim.stdout()).toContain("virtual board stopped");
    for (const k of kids) expect(alive(k), `firmware process ${k} still running`).toBe(false);
    expect(readdirSync(sim.tmp)).toEqual([]);
  });

  it("--pty prints a path on which the firmware answers the device protocol", {
    timeout: 60_000,
  }, async () => {
    const sim = await startSim(["--pty"]);
    expect(sim.ptyPath).toMatch(/^\/dev\/pts\/\d+$|^\/tmp\//);
    const t = await openTransport(sim.ptyPath!);
    transports.push(t);
    const c = new DeviceClient(duplexFromTransport(t));
    try {
      const info = await c.hello({ timeoutMs: 2000, retries: 5 });
      expect(info.target).toBe("esp32c3");
      expect(info.firmwareVersion).toBe("0.1.0");
    } finally {
      c.close();
    }
    sim.proc.kill("SIGTERM");
    expect(await sim.exited).toBe(0);
  });

  it("--fault reset-after-rx resets the chip once that many bytes reached it", {
    timeout: 60_000,
  }, async () => {
    const sim = await startSim(["--json", "--fault", "reset-after-rx=64", "--fault", "seed=7"]);
    const listening = JSON.parse(sim.stdout().split("\n")[0]!) as { faults: Record<string, number> };
    expect(listening.faults).toEqual({ resetAfterRxBytes: 64, seed: 7 });
    const t = await openTransport(sim.url);
    transports.push(t);
    const c = new DeviceClient(duplexFromTransport(t));
    const text: string[] = [];
    c.on("text", (l) => text.push(l));
    try {
      await c.hello({ timeoutMs: 2000, retries: 3 });
      // HELLO plus a few pings of 16 data bytes carry the chip past 64 received bytes: it resets
      // like an EN pulse, and its firmware says so (power-on) in a new BOOT frame.
      const boot = c.waitForEvent("boot", 10_000);
      for (let i = 0; i < 6; i++)
        await c.ping(new Uint8Array(16).fill(i), { timeoutMs: 500, retries: 0 }).catch(() => 0);
      expect((await boot).boot.resetReason).toBe(ESP_RST.POWERON);
      expect(text.some((l) => /^rst:0x1 \(POWERON\),boot:0xc/.test(l))).toBe(true);
      // Counted once: the board answers again afterwards.
      expect((await c.hello({ timeoutMs: 2000, retries: 3 })).target).toBe("esp32c3");
    } finally {
      c.close();
    }
    sim.proc.kill("SIGINT");
    expect(await sim.exited).toBe(0);
  });

  const bad: Array<[string[], RegExp]> = [
    [["--target", "esp33"], /^error: --target: unknown target 'esp33'$/],
    [["--listen", "localhost"], /^error: --listen: expected HOST:PORT/],
    [["--listen", "127.0.0.1:70000"], /^error: --listen: port must be 0\.\.65535/],
    [["--wdt-ms", "5"], /^error: --wdt-ms: must be 10\.\.600000 ms$/],
    [["--wdt-ms", "1s"], /^error: --wdt-ms: give the timeout in whole milliseconds$/],
    [["--flash-size", "3MB"], /^error: --flash-size: 3MB is not a flash chip size$/],
    [["--fault", "nosie=1e-4"], /^error: --fault nosie=1e-4: unknown fault 'nosie'$/],
    [["--fault", "noise=2"], /^error: --fault noise=2: a rate is 0\.\.1/],
    [["--fault", "reset-after-rx"], /^error: --fault reset-after-rx: expected reset-after-rx=<value>$/],
    [["--fault", "direction=up"], /^error: --fault direction=up: use both, to-chip or from-chip$/],
    [["--usb-serial-jtag", "--target", "esp32"], /^error: ESP32 has no USB-Serial-JTAG peripheral$/],
  ];
  for (const [args, re] of bad) {
    it(`rejects ${args.join(" ")} with a one-line E_USAGE error`, () => {
      const r = runCli(["sim", "--listen", "127.0.0.1:0", ...args], { timeoutMs: 15_000 });
      expect(r.status, r.stderr + r.stdout).toBe(EXIT_CODES.E_USAGE);
      const lines = r.stderr.trim().split("\n");
      expect(lines[0]).toMatch(re);
      expect(lines.slice(1).every((l) => l.startsWith("  hint: "))).toBe(true);
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(r.stdout).toBe("");
    });
  }

  it("--help lists every option and fault knob", () => {
    const r = runCli(["sim", "--help"]);
    expect(r.status).toBe(0);
    for (const o of ["--target", "--flash", "--flash-size", "--listen", "--pty", "--baud-pacing", "--wdt-ms"])
      expect(r.stdout).toContain(o);
    for (const k of [
      "noise",
      "bitflip",
      "drop",
      "direction",
      "seed",
      "reset-after-rx",
      "power-loss-at",
      "flash-stuck-after",
    ])
      expect(r.stdout).toContain(`  ${k} `);
  });
});
