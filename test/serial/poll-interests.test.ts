/**
 * serialport's unix poller must keep watching for "writable" while a read parks on "readable":
 * bindings-cpp 13 restarts its uv_poll with only the newest event (src/serial/poll-interests.ts),
 * which left a flash write waiting forever on a loaded machine (test/flash/board-pty.test.ts).
 * Deterministic here: a pty whose master is not read until the test says so, a write that fills
 * it (EAGAIN -> waits for writable), then a read that finds no input (EAGAIN -> waits for
 * readable), then the master drains everything. The write must finish.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { hangupAwareBinding } from "../../src/serial/hangup-binding.js";

// Opens a raw pty, prints the slave path, reads nothing from the master until a line on stdin,
// then reads N bytes from it and prints the count; the test kills it.
const HELPER = `
import os, pty, sys, tty
n = int(sys.argv[1])
m, s = pty.openpty()
tty.setraw(s)
print(os.ttyname(s), flush=True)
sys.stdin.readline()
total = 0
while total < n:
    total += len(os.read(m, 65536))
print(total, flush=True)
sys.stdin.read()
`;

const SIZE = 1 << 20;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function startHelper(): { child: ChildProcess; lines: AsyncIterator<string> } {
  const child = spawn("python3", ["-c", HELPER, String(SIZE)], { stdio: ["pipe", "pipe", "inherit"] });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  );
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
}

const settled = (p: Promise<unknown>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

describe("serialport poller with a write and a read both waiting (pty)", () => {
  it("a write stalled on a full pty completes once drained, although a read started waiting after it", async () => {
    const { child, lines } = startHelper();
    const path = (await lines.next()).value as string;
    const port = await hangupAwareBinding.open({ path, baudRate: 115200 } as never);
    cleanups.push(() => (port.isOpen ? port.close() : undefined));

    const payload = Buffer.alloc(SIZE, 0x5a);
    const write = port.write(payload);
    write.catch(() => undefined);
    // The master is not read: the pty fills and the write parks on the poller for "writable".
    expect(await settled(write, 300)).toBe(false);
    // No input: the read parks on the poller for "readable" (the stock poller then stops
    // watching for "writable").
    const read = port.read(Buffer.alloc(64), 0, 64);
    read.catch(() => undefined);
    expect(await settled(read, 100)).toBe(false);

    child.stdin!.write("drain\n");
    expect(await settled(write, 10_000)).toBe(true);
    expect(Number((await lines.next()).value)).toBe(SIZE);
  });
});
