/**
 * The compiled CLI (bin/rsagen -> dist/, `npm run build` first) as a user runs it, against the
 * virtual board running the real host firmware behind its RFC 2217 server: Ctrl-C during a 4096-bit
 * generation, `monitor` on a real pseudo-terminal left with Ctrl-], and `--timeout` expiring.
 *
 * Generation must still be running when the signal or the timeout lands, or these tests prove
 * nothing: the firmware's fixed seed "inline-3" (RSAGEN_FW_SEED) gives a 4096-bit key that needs
 * 8,333 RNG calls, about 2 s of CPU on the development host (bench/keygen.mjs), so the first PROGRESS
 * event (after 500 ms, docs/protocol.md) comes well before the end. The tests also check the board's
 * own output: no DONE event and no "job N: 4096-bit key in ..." line, but "job N cancelled and freed".
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FrameDecoder } from "../../src/device/frame.js";
import { decodeDeviceFrame } from "../../src/device/messages.js";
import { type Board, startBoard } from "../../src/sim/index.js";
import { CLI, jsonLines } from "../helpers/run-cli.js";
import { boardJobState, buildFirmware, type Firmware, tempDir } from "./sim-fixture.js";

/** 4096-bit key with ~2 s of generation (see the header). */
const SLOW_SEED = "inline-3";

/**
 * Runs a command with its stdin on a pseudo-terminal (stdout and stderr stay this process's pipes),
 * so the command sees a TTY as in an interactive shell. Bytes written to this helper's stdin are
 * typed into the terminal; before each write it reports on stderr whether the terminal is in raw
 * mode ("pty: raw" / "pty: cooked"), and once more after the command exited ("pty after: ...").
 * Exit status: the command's (128 + signal if killed). Python's pty module: no native addon.
 */
const PTY_RUN = String.raw`
import os, pty, select, subprocess, sys, termios
m, s = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=s)
def mode():
    return "cooked" if termios.tcgetattr(s)[3] & termios.ICANON else "raw"
def note(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
stdin = sys.stdin.fileno()
typing = True
while p.poll() is None:
    ready, _, _ = select.select([m] + ([stdin] if typing else []), [], [], 0.05)
    if stdin in ready:
        data = os.read(stdin, 1024)
        if data:
            note("pty: " + mode())
            os.write(m, data)
        else:
            typing = False
    if m in ready:
        try:
            os.read(m, 65536)
        except OSError:
            pass
note("pty after: " + mode())
sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)
`;

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

const work = tempDir("rsagen-cli-e2e-");
let fw: Firmware;
const cleanup: Array<() => unknown> = [];

beforeAll(async () => {
  fw = await buildFirmware(work.dir, "esp32c3", true);
}, 300_000);
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(() => work.remove());

interface SlowBoard {
  board: Board;
  /** Everything the board sent so far, as text (log lines and frames' bytes). */
  log: () => string;
  /** The kinds of the protocol frames the board sent so far ("progress", "done", ...). */
  frames: () => string[];
}

/** A booted board running the firmware (with the slow seed unless told), its output recorded. */
async function slowBoard(appEnv: Record<string, string> = { RSAGEN_FW_SEED: SLOW_SEED }): Promise<SlowBoard> {
  const board = await startBoard({ target: fw.target, flashImage: fw.image.slice(), appEnv });
  cleanup.push(() => board.close());
  let log = "";
  const frames: string[] = [];
  const decoder = new FrameDecoder();
  board.on("tx", (b) => {
    log += Buffer.from(b).toString("latin1");
    for (const item of decoder.push(b)) {
      if (item.kind === "frame") frames.push(decodeDeviceFrame(item).kind);
    }
  });
  // Bytes sent to a booting chip are lost, as on a real one: wait for the firmware.
  for (let i = 0; i < 200 && board.chipState !== "app"; i++) await sleep(25);
  await waitFor(() => /Calling app_main\(\)/.test(log), 5_000, "firmware boot log");
  await sleep(200);
  return { board, log: () => log, frames: () => [...frames] };
}

interface Running {
  child: Child;
  /** stdout as UTF-8 text; `stdoutBytes()` as it came. */
  stdout: () => string;
  stdoutBytes: () => Buffer;
  stderr: () => string;
  exit: Promise<number | null>;
}

function spawnCli(args: string[], command = process.execPath, prefix: string[] = []): Running {
  const env = { ...process.env };
  delete env.ESPPORT;
  delete env.ESPBAUD;
  const child = spawn(command, [...prefix, CLI, ...args], { stdio: ["pipe", "pipe", "pipe"], env });
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  const out: Buffer[] = [];
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out.push(d);
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  return {
    child,
    stdout: () => Buffer.concat(out).toString("utf8"),
    stdoutBytes: () => Buffer.concat(out),
    stderr: () => err,
    exit,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${typeof what === "string" ? what : what()}: not within ${ms} ms`);
    await sleep(10);
  }
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ]);

describe("rsagen keygen (spawned CLI) on the virtual board", () => {
  it("Ctrl-C (SIGINT) during generation: cancel confirmed, exit 34, one error line, no file, board idle", async () => {
    const { board, log, frames } = await slowBoard();
    const out = tempDir("rsagen-sigint-");
    cleanup.push(out.remove);
    const run = spawnCli(["--json", "--port", board.url, "keygen", "--bits", "4096", "--out", out.dir]);
    await waitFor(() => /"event":"progress"/.test(run.stdout()), 15_000, "a progress event");
    const before = jsonLines(run.stdout());
    run.child.kill("SIGINT");
    expect(await within(run.exit, 15_000, "keygen exit")).toBe(34);

    const lines = jsonLines(run.stdout());
    // The signal landed during generation: progress seen, no DONE, nothing read back.
    expect(before.some((l) => l.event === "started")).toBe(true);
    expect(before.some((l) => l.event === "generated")).toBe(false);
    expect(lines.some((l) => l.event === "generated" || l.event === "readback")).toBe(false);
    expect(lines.find((l) => l.event === "cancelling")).toMatchObject({ reason: "interrupted" });
    expect(lines.find((l) => l.event === "released")).toMatchObject({ confirmed: true });
    // Exactly one error, as the last line, and nothing else after it.
    const errors = lines.filter((l) => "error" in l);
    expect(errors).toHaveLength(1);
    expect(lines.at(-1)).toBe(errors[0]);
    expect(frames()).not.toContain("done");
    expect(errors[0]!.error).toMatchObject({
      code: "E_KEYGEN_FAILED",
      exitCode: 34,
      message: "interrupted; the job was cancelled on the board and its memory released",
    });
    expect(run.stderr()).toBe("");
    expect(readdirSync(out.dir)).toEqual([]);
    // The firmware says the job was stopped mid-way (not finished), then freed on CANCEL.
    expect(log()).not.toMatch(/keygen: job \d+: 4096-bit key in/);
    expect(log()).toMatch(/rsagen: job \d+ cancelled and freed/);
    expect(await boardJobState(board)).toBe("idle");
  }, 30_000);

  it("Ctrl-C in text mode: 'error: interrupted ...' plus a hint on stderr, info --json then shows an idle job", async () => {
    const { board, log, frames } = await slowBoard();
    const out = tempDir("rsagen-sigint-text-");
    cleanup.push(out.remove);
    const run = spawnCli(["--port", board.url, "keygen", "--bits", "4096", "--out", out.dir]);
    await waitFor(() => /generating a 4096-bit key/.test(run.stderr()), 15_000, "the started line");
    // A text log shows no progress line this early: the board's own PROGRESS frame on the line
    // shows that generation is under way when the signal lands.
    await waitFor(() => frames().includes("progress"), 15_000, "a PROGRESS frame from the board");
    run.child.kill("SIGINT");
    expect(await within(run.exit, 15_000, "keygen exit")).toBe(34);
    const errLines = run
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("error:"));
    expect(errLines).toEqual([
      "error: interrupted; the job was cancelled on the board and its memory released",
    ]);
    expect(run.stderr()).toMatch(/\n {2}hint: run keygen again\n$/);
    expect(run.stdout()).toBe("");
    expect(readdirSync(out.dir)).toEqual([]);
    expect(log()).toMatch(/rsagen: job \d+ cancelled and freed/);
    expect(frames()).not.toContain("done");

    const info = spawnCli(["--json", "--port", board.url, "info"]);
    expect(await within(info.exit, 15_000, "info exit")).toBe(0);
    const result = jsonLines(info.stdout()).find((l) => "result" in l)?.result as Record<string, unknown>;
    expect(result).toMatchObject({ reset: false, jobState: 0 });
  }, 30_000);

  it("--timeout 300ms: exit 33 (E_KEYGEN_TIMEOUT), one error line with a hint, no file, board idle", async () => {
    const { board, log, frames } = await slowBoard();
    const out = tempDir("rsagen-timeout-");
    cleanup.push(out.remove);
    const run = spawnCli([
      "--port",
      board.url,
      "keygen",
      "--bits",
      "4096",
      "--timeout",
      "300ms",
      "--out",
      out.dir,
    ]);
    expect(await within(run.exit, 15_000, "keygen exit")).toBe(33);
    const errLines = run
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("error:"));
    expect(errLines).toEqual([
      "error: no key after 0.3 s; the job was cancelled on the board and its memory released",
    ]);
    expect(run.stderr()).toMatch(/\n {2}hint: raise --timeout[^\n]*\n$/);
    expect(run.stderr()).toMatch(/cancelling the job on the board \(timeout\)/);
    expect(run.stdout()).toBe("");
    expect(readdirSync(out.dir)).toEqual([]);
    expect(log()).toMatch(/rsagen: job \d+ cancelled and freed/);
    expect(log()).not.toMatch(/keygen: job \d+: 4096-bit key in/);
    expect(frames()).not.toContain("done");
    expect(await boardJobState(board)).toBe("idle");
  }, 30_000);
});

describe("rsagen monitor (spawned CLI, stdin on a pty) on the virtual board", () => {
  it("shows the boot log after its reset and frames compactly; Ctrl-] exits 0, restores the terminal, frees the port", async () => {
    const { board, log } = await slowBoard({});
    const bootsBefore = log().split("Calling app_main()").length - 1;
    const mon = spawnCli(["--port", board.url, "monitor"], "python3", ["-c", PTY_RUN, process.execPath]);
    // The monitor resets the board (RTS pulse over RFC 2217): a whole second boot, ROM banner first.
    await waitFor(
      () => /«BOOT esp32c3 fw 0\.1\.0 \([^)]*\)»\n/.test(mon.stdout()),
      15_000,
      () => `the BOOT frame on the monitor; got ${JSON.stringify(mon.stdout())} ${mon.stderr()}`,
    );
    expect(log().split("Calling app_main()").length - 1).toBe(bootsBefore + 1);
    const shown = mon.stdout();
    expect(shown).toMatch(
      /^--- rsagen monitor on rfc2217:\/\/127\.0\.0\.1:\d+ \(Ctrl-\] or Ctrl-C exits\) ---\n/,
    );
    expect(shown).toMatch(/rst:0x1 \(POWERON\),boot:0xc \(SPI_FAST_FLASH_BOOT\)\r\n/);
    expect(shown).toMatch(/I \(\d+\) main_task: Calling app_main\(\)\r\n/);
    expect(shown).toMatch(/I \(\d+\) rsagen: rsagen 0\.1\.0 on esp32c3, /);
    // Console text passes through byte for byte, and no frame bytes (sync 0xC1 0xF5) leak through.
    const appLog = log().slice(log().lastIndexOf("ESP-ROM:"));
    const firstLines = appLog.slice(0, appLog.indexOf("Calling app_main()"));
    expect(shown).toContain(firstLines);
    expect(mon.stdoutBytes().includes(Buffer.from([0xc1, 0xf5]))).toBe(false);
    // stdout is a pipe here, not a terminal: no escape sequences in what a log file would get.
    expect(shown).not.toContain("\x1b");

    mon.child.stdin.write(Buffer.from([0x1d])); // Ctrl-]
    expect(await within(mon.exit, 5_000, "monitor exit")).toBe(0);
    // The monitor had put the terminal in raw mode (Ctrl-] needs no Enter) and restored it.
    expect(mon.stderr()).toContain("pty: raw\n");
    expect(mon.stderr()).toContain("pty after: cooked\n");
    expect(mon.stderr()).not.toMatch(/error|Error|at /);
    // Another client right away: the board runs (not held in reset by RTS) and answers.
    expect(await within(boardJobState(board), 3_000, "second client")).toBe("idle");
  }, 30_000);
});
