/**
 * A reader that goes away (`rsagen monitor | head`, `rsagen keygen --json | head -1`): the compiled
 * CLI runs with its stdout on a pipe whose read end the test closes. The monitor must end by itself
 * with exit 0 and let go of the port; keygen must finish its work (files written, job released)
 * with exit 0. Neither may print an EPIPE crash.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { CLI } from "../helpers/run-cli.js";
import { FakeBoard } from "../keygen/fake-board.js";

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function start(args: string[]): { child: Child; stderr: () => string; exit: Promise<number | null> } {
  const env = { ...process.env };
  delete env.ESPPORT;
  delete env.ESPBAUD;
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"], env });
  cleanup.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let err = "";
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  return { child, stderr: () => err, exit };
}

/** Resolves once stdout has carried text matching `re`, then closes the reading end. */
async function readThenClose(child: Child, re: RegExp): Promise<string> {
  let seen = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${re} on stdout; got ${JSON.stringify(seen)}`)),
      15_000,
    );
    child.stdout.on("data", (d: Buffer) => {
      seen += d.toString("latin1");
      if (re.test(seen)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.stdout.destroy();
  return seen;
}

const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  ]);

describe("output to a reader that went away", () => {
  it("rsagen monitor | head: the monitor ends with exit 0 and releases the port", async () => {
    const b = await FakeBoard.start({ mode: "rsagen" });
    cleanup.push(() => b.stop());
    const { child, stderr, exit } = start(["monitor", "--port", b.url]);
    await readThenClose(child, /rsagen firmware up/);
    // The board keeps talking: the next write meets the closed pipe.
    const talk = setInterval(() => void b.server.write(Buffer.from("I (1) rsagen: still here\r\n")), 50);
    cleanup.push(() => clearInterval(talk));
    expect(await within(exit, 10_000, "monitor exit")).toBe(0);
    expect(stderr()).not.toMatch(/EPIPE|Error|at /);
    for (let i = 0; i < 50 && b.server.hasClient; i++) await new Promise((r) => setTimeout(r, 20));
    expect(b.server.hasClient).toBe(false);
  });

  it("rsagen keygen --json | head -1: the key is still generated, verified, written and released", async () => {
    const b = await FakeBoard.start({ keygenDelayMs: 1500 });
    cleanup.push(() => b.stop());
    const dir = mkdtempSync(join(tmpdir(), "rsagen-epipe-"));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { child, stderr, exit } = start([
      "--json",
      "keygen",
      "--bits",
      "1024",
      "--port",
      b.url,
      "--out",
      dir,
      "--prefix",
      "k",
    ]);
    await readThenClose(child, /\n/);
    expect(await within(exit, 30_000, "keygen exit")).toBe(0);
    expect(stderr()).not.toMatch(/EPIPE|Error|at /);
    expect(readdirSync(dir).sort()).toEqual(["k.key.pem", "k.pub.pem"]);
    expect(b.releases.length).toBe(1);
  });
});
