import { afterEach, describe, expect, it } from "vitest";
import { RsagenError } from "../../src/errors.js";
import { hangupAwareBinding } from "../../src/serial/hangup-binding.js";
import { openTransport } from "../../src/serial/open-transport.js";
import { openPtyPair, PtyBridge } from "../../src/serial/pty.js";
import { allBytes, collect, nextEvent, readBytes } from "./helpers.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("serialport backend on a pty pair", () => {
  it("carries every byte value both ways (raw mode, no CRLF or echo)", async () => {
    const pair = await openPtyPair();
    cleanups.push(() => pair.close());
    const a = await openTransport(pair.a);
    cleanups.push(() => a.close());
    const b = await openTransport(pair.b);
    cleanups.push(() => b.close());
    const payload = allBytes();
    const atB = readBytes(b, payload.length);
    await a.write(payload);
    expect(Buffer.from(await atB)).toEqual(Buffer.from(payload));
    const atA = readBytes(a, 4);
    await b.write(Uint8Array.of(0x0d, 0x0a, 0x03, 0x04)); // CR LF ^C ^D pass through untouched
    expect(Array.from(await atA)).toEqual([0x0d, 0x0a, 0x03, 0x04]);
  });

  it("setSignals does not throw on a pty; capabilities say there are no reset lines", async () => {
    const pair = await openPtyPair();
    cleanups.push(() => pair.close());
    const a = await openTransport(pair.a);
    cleanups.push(() => a.close());
    expect(a.capabilities.kind).toBe("serialport");
    expect(a.capabilities.hasResetLines).toBe(false);
    await a.setSignals({ dtr: true });
    await a.setSignals({ rts: true });
    expect(a.signals).toEqual({ dtr: true, rts: true });
    await a.setBaud(460800);
    expect(a.baud).toBe(460800);
    await a.purge();
    // Still works after all that.
    const b = await openTransport(pair.b);
    cleanups.push(() => b.close());
    const got = readBytes(b, 2);
    await a.write(Uint8Array.of(0xc0, 0xc0));
    expect(Array.from(await got)).toEqual([0xc0, 0xc0]);
  });

  it("a vanished pty -> E_PORT_LOST", async () => {
    const pair = await openPtyPair();
    cleanups.push(() => pair.close());
    const a = await openTransport(pair.a);
    cleanups.push(() => a.close());
    a.on("data", () => undefined);
    const closed = nextEvent<RsagenError | undefined>(a, "close", 10_000);
    process.kill(pair.pid!, "SIGKILL");
    const lost = await closed;
    expect(lost?.code).toBe("E_PORT_LOST");
    await expect(a.write(Uint8Array.of(1))).rejects.toMatchObject({ code: "E_PORT_LOST" });
  });

  it("a read issued after the hangup rejects as a disconnect (it does not spin on end of file)", async () => {
    // The race behind a lost port going unnoticed, made deterministic: the master is gone before
    // the first read, so read(2) returns 0 at once; serialport's own loop re-reads 0 forever.
    const pair = await openPtyPair();
    const port = await hangupAwareBinding.open({ path: pair.a, baudRate: 115200 });
    cleanups.push(async () => {
      if (port.isOpen) await port.close();
    });
    const helperGone = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        try {
          process.kill(pair.pid!, 0);
        } catch {
          clearInterval(poll);
          resolve();
        }
      }, 5);
    });
    process.kill(pair.pid!, "SIGKILL");
    await helperGone;
    await pair.close();
    const err = await nextEvent<unknown>(
      { once: (_: string, fn: (v: unknown) => void) => port.read(Buffer.alloc(64), 0, 64).then(fn, fn) },
      "read",
      2000,
    );
    expect(err).toMatchObject({ disconnect: true, code: "EIO" });
  });

  it("a missing device -> E_NO_PORT with a hint", async () => {
    const err = await openTransport("/dev/ttyRSAGEN-does-not-exist").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RsagenError);
    expect((err as RsagenError).code).toBe("E_NO_PORT");
    expect((err as RsagenError).message).toMatch(/does not exist/);
    expect((err as RsagenError).hint).toMatch(/--port/);
  });

  it("a port another program holds -> E_NO_PORT 'busy' with a hint", async () => {
    const pair = await openPtyPair();
    cleanups.push(() => pair.close());
    const first = await openTransport(pair.a);
    cleanups.push(() => first.close());
    const err = await openTransport(pair.a).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RsagenError);
    expect((err as RsagenError).code).toBe("E_NO_PORT");
    expect((err as RsagenError).message).toMatch(/is busy/);
  });

  it("a pty bridge: what a program writes to the slave is 'data', write() reaches it", async () => {
    const bridge = await PtyBridge.open();
    cleanups.push(() => bridge.close());
    const port = await openTransport(bridge.path);
    cleanups.push(() => port.close());
    const atBridge = collect(bridge, 3);
    await port.write(Uint8Array.of(0xff, 0x00, 0x7e));
    expect(Array.from(await atBridge)).toEqual([0xff, 0x00, 0x7e]);
    const atPort = readBytes(port, 3);
    await bridge.write(Uint8Array.of(1, 0xc0, 0xdb));
    expect(Array.from(await atPort)).toEqual([1, 0xc0, 0xdb]);
  });
});
