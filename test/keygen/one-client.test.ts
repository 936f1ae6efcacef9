/**
 * One client at a time on the virtual board's RFC 2217 server: while `rsagen keygen --bits 4096`
 * runs on the first client (real host firmware, the slow fixed seed of cli-e2e.test.ts, ~2 s of
 * generation), a second `rsagen keygen` and a second `rsagen info --json` (the compiled CLI, as a
 * user runs them) are refused with E_PORT_BUSY, exit 17, one error line; the first job is not
 * touched and writes its verified key. Before this, the second connection replaced the first and
 * the running job died with E_PORT_LOST.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Board, startBoard } from "../../src/sim/index.js";
import { CLI, jsonLines } from "../helpers/run-cli.js";
import { buildFirmware, type Firmware, tempDir } from "./sim-fixture.js";

/** 4096-bit key with ~2 s of generation (test/keygen/cli-e2e.test.ts). */
const SLOW_SEED = "inline-3";

const work = tempDir("rsagen-one-client-");
let fw: Firmware;
const cleanup: Array<() => unknown> = [];

beforeAll(async () => {
  fw = await buildFirmware(work.dir, "esp32c3", true);
}, 300_000);
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(() => work.remove());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function cli(args: string[]): Run {
  const env = { ...process.env };
  delete env.ESPPORT;
  delete env.ESPBAUD;
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env });
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return {
    stdout: () => out,
    stderr: () => err,
    exit: new Promise((res) => child.on("exit", (code) => res(code))),
  };
}

async function waitFor(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what()}: not within ${ms} ms`);
    await sleep(10);
  }
}

async function bootedBoard(): Promise<{ board: Board; log: () => string }> {
  const board = await startBoard({
    target: fw.target,
    flashImage: fw.image.slice(),
    appEnv: { RSAGEN_FW_SEED: SLOW_SEED },
  });
  cleanup.push(() => board.close());
  let log = "";
  board.on("tx", (b) => {
    log += Buffer.from(b).toString("latin1");
  });
  await waitFor(
    () => /Calling app_main\(\)/.test(log),
    10_000,
    () => "firmware boot log",
  );
  await sleep(200);
  return { board, log: () => log };
}

describe("one client at a time (rsagen sim's RFC 2217 server)", () => {
  it("a second rsagen keygen / info is refused with exit 17 and one line; the running 4096-bit job completes", async () => {
    const { board, log } = await bootedBoard();
    const refusals: string[] = [];
    board.on("refused", (c, holder) => refusals.push(`${c.address}->${holder.port}`));
    const out1 = tempDir("rsagen-one-client-1-");
    const out2 = tempDir("rsagen-one-client-2-");
    cleanup.push(out1.remove, out2.remove);

    const first = cli(["--json", "--port", board.url, "keygen", "--bits", "4096", "--out", out1.dir]);
    await waitFor(
      () => /"event":"progress"/.test(first.stdout()),
      15_000,
      () => `a progress event from the first client; got ${first.stdout()} ${first.stderr()}`,
    );

    const second = cli(["--port", board.url, "keygen", "--bits", "1024", "--out", out2.dir]);
    const info = cli(["--json", "--port", board.url, "info"]);
    expect(await second.exit).toBe(17);
    expect(await info.exit).toBe(17);
    // Still generating when both were refused: the first client has not finished.
    expect(jsonLines(first.stdout()).some((l) => l.event === "generated")).toBe(false);

    const message = `${board.url} is in use by another client (the server answered "Port already in use")`;
    expect(second.stdout()).toBe("");
    expect(second.stderr()).toBe(
      `error: ${message}\n  hint: wait for the other session (rsagen, esptool, a serial monitor) to finish, or stop it; the server serves one client at a time\n`,
    );
    const infoLines = jsonLines(info.stdout());
    expect(infoLines).toHaveLength(1);
    expect(infoLines[0]).toEqual({
      error: {
        code: "E_PORT_BUSY",
        message,
        hint: "wait for the other session (rsagen, esptool, a serial monitor) to finish, or stop it; the server serves one client at a time",
        exitCode: 17,
      },
    });
    expect(info.stderr()).toBe("");
    expect(readdirSync(out2.dir)).toEqual([]);
    expect(refusals).toHaveLength(2);

    // The first job was never disturbed: it completes, verifies and writes its key pair.
    expect(await first.exit).toBe(0);
    const lines = jsonLines(first.stdout());
    expect(lines.some((l) => "error" in l)).toBe(false);
    expect(lines.some((l) => l.event === "generated")).toBe(true);
    expect(readdirSync(out1.dir).length).toBeGreaterThan(0);
    expect(first.stderr()).toBe("");
    expect(log()).toMatch(/keygen: job \d+: 4096-bit key in/);
    expect(log()).not.toMatch(/cancelled/);

    // Once it has left, the next client is served at once.
    const after = cli(["--json", "--port", board.url, "info"]);
    expect(await after.exit).toBe(0);
  }, 60_000);
});
