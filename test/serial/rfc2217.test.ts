import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RsagenError } from "../../src/errors.js";
import { openTransport } from "../../src/serial/open-transport.js";
import { Rfc2217Server, type SignalChange } from "../../src/serial/rfc2217-server.js";
import { parsePortSpec } from "../../src/serial/transport.js";
import { allBytes, collect, nextEvent, readBytes } from "./helpers.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Parameters<typeof Rfc2217Server.listen>[0] = {}) {
  const server = await Rfc2217Server.listen(opts);
  cleanups.push(() => server.close());
  const signals: SignalChange[] = [];
  server.on("signals", (c) => signals.push(c));
  const client = await openTransport(server.url, { baud: 115200 });
  cleanups.push(() => client.close());
  return { server, client, signals };
}

describe("RFC 2217 client <-> server on loopback", () => {
  it("negotiates, applies line settings, reports capabilities", async () => {
    const server = await Rfc2217Server.listen();
    cleanups.push(() => server.close());
    const bauds: number[] = [];
    server.on("baud", (b) => bauds.push(b));
    const client = await openTransport(server.url, { baud: 74880, format: { parity: "even", stopBits: 2 } });
    cleanups.push(() => client.close());
    expect(client.isOpen).toBe(true);
    expect(client.capabilities).toEqual({
      kind: "rfc2217",
      hasResetLines: true,
      inPlaceBaudChange: true,
      remote: true,
    });
    expect(server.hasClient).toBe(true);
    expect(server.baud).toBe(74880);
    expect(bauds).toEqual([74880]);
    expect(server.format).toEqual({ dataBits: 8, parity: "even", stopBits: 2 });
    expect(client.baud).toBe(74880);
  });

  it("carries every byte value both ways, including 0xFF runs", async () => {
    const { server, client } = await setup();
    const payload = allBytes();
    const atServer = collect(server, payload.length);
    await client.write(payload);
    expect(Buffer.from(await atServer)).toEqual(Buffer.from(payload));

    const atClient = readBytes(client, payload.length);
    expect(await server.write(payload)).toBe(true);
    expect(Buffer.from(await atClient)).toEqual(Buffer.from(payload));
  });

  it("keeps bytes that arrive before a data listener is attached", async () => {
    const { server, client } = await setup();
    await server.write(Uint8Array.of(1, 2, 0xff, 3));
    await new Promise((r) => setTimeout(r, 50));
    expect(Array.from(await readBytes(client, 4))).toEqual([1, 2, 0xff, 3]);
  });

  it("changes baud in place; the server observes and acknowledges it", async () => {
    const { server, client } = await setup();
    const seen = nextEvent<number>(server, "baud");
    await client.setBaud(921600);
    expect(await seen).toBe(921600);
    expect(server.baud).toBe(921600);
    expect(client.baud).toBe(921600);
    // Data still flows after the change.
    const got = readBytes(client, 3);
    await server.write(Uint8Array.of(7, 8, 9));
    expect(Array.from(await got)).toEqual([7, 8, 9]);
  });

  it("drives DTR/RTS in order (esptool classic reset) and the server sees each step", async () => {
    const { server, client, signals } = await setup();
    expect(server.signals).toEqual({ dtr: false, rts: false });
    // ClassicReset: (D0,R1) wait (D1,R0) wait (D0,R0)
    await client.setSignals({ dtr: false, rts: true });
    await client.setSignals({ dtr: true, rts: false });
    await client.setSignals({ dtr: false, rts: false });
    expect(signals.map((s) => [s.line, s.dtr, s.rts])).toEqual([
      ["rts", false, true], // EN low: chip in reset
      ["dtr", true, true], // DTR first (esptool's order)
      ["rts", true, false], // EN released with GPIO0 low: download mode
      ["dtr", false, false],
    ]);
    for (let i = 1; i < signals.length; i++)
      expect(signals[i]!.at).toBeGreaterThanOrEqual(signals[i - 1]!.at);
    expect(client.signals).toEqual({ dtr: false, rts: false });
  });

  it("merges a one-line change with the remembered state and never pulses EN by accident", async () => {
    const { server, client, signals } = await setup();
    await client.setSignals({ dtr: true, rts: true });
    await client.setSignals({ rts: false });
    expect(server.signals).toEqual({ dtr: true, rts: false });
    await client.setSignals({ dtr: true, rts: true });
    signals.length = 0;
    // Both asserted -> both released: RTS must go first, or DTR=0/RTS=1 would reset the chip.
    await client.setSignals({ dtr: false, rts: false });
    expect(signals.map((s) => s.line)).toEqual(["rts", "dtr"]);
    expect(signals.some((s) => s.rts && !s.dtr)).toBe(false);
  });

  it("purges: the server is told and drops paced output not yet sent", async () => {
    const { server, client } = await setup({ pacing: true });
    const purged = nextEvent<string>(server, "purge");
    const pending = server.write(new Uint8Array(20_000)); // ~1.7 s at 115200 baud
    await new Promise((r) => setTimeout(r, 50));
    await client.purge("receive");
    expect(await purged).toBe("receive");
    expect(await pending).toBe(false);
  });

  it("paces output at baud/10 bytes per second when asked", async () => {
    const { server, client } = await setup({ pacing: true });
    const n = 2304; // 200 ms at 115200 baud
    const got = readBytes(client, n);
    const t0 = performance.now();
    await server.write(new Uint8Array(n).fill(0xff));
    await got;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it("server going away -> E_PORT_LOST on the client (close event, error event, writes)", async () => {
    const { server, client } = await setup();
    const errors: RsagenError[] = [];
    client.on("error", (e) => errors.push(e));
    const closed = nextEvent<RsagenError | undefined>(client, "close");
    server.dropClient();
    const lost = await closed;
    expect(lost).toBeInstanceOf(RsagenError);
    expect(lost?.code).toBe("E_PORT_LOST");
    expect(errors.map((e) => e.code)).toEqual(["E_PORT_LOST"]);
    expect(client.isOpen).toBe(false);
    await expect(client.write(Uint8Array.of(1))).rejects.toMatchObject({ code: "E_PORT_LOST" });
    await expect(client.setSignals({ dtr: true })).rejects.toMatchObject({ code: "E_PORT_LOST" });
  });

  it("a requested close is not a lost port, and the server releases the lines", async () => {
    const { server, client } = await setup();
    await client.setSignals({ dtr: true, rts: false });
    const gone = nextEvent<void>(server, "disconnect");
    const closed = nextEvent<RsagenError | undefined>(client, "close");
    await client.close();
    expect(await closed).toBeUndefined();
    await gone;
    expect(server.signals).toEqual({ dtr: false, rts: false });
  });

  it("a second client is refused with E_PORT_BUSY while the first keeps its port", async () => {
    const { server, client } = await setup();
    const refused: string[] = [];
    server.on("refused", (c, holder) => refused.push(`${c.address} -> ${holder.port}`));
    let firstClosed = false;
    client.on("close", () => {
      firstClosed = true;
    });
    const err = await openTransport(server.url).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RsagenError);
    expect((err as RsagenError).code).toBe("E_PORT_BUSY");
    expect((err as RsagenError).exitCode).toBe(17);
    expect((err as RsagenError).message).toBe(
      `${server.url} is in use by another client (the server answered "Port already in use")`,
    );
    expect((err as RsagenError).hint).toMatch(/one client at a time/);
    expect(refused).toHaveLength(1);
    // The first client is untouched: still open, data both ways, lines.
    expect(firstClosed).toBe(false);
    expect(client.isOpen).toBe(true);
    const got = readBytes(client, 2);
    await server.write(Uint8Array.of(0x55, 0xaa));
    expect(Array.from(await got)).toEqual([0x55, 0xaa]);
    const atServer = collect(server, 1);
    await client.write(Uint8Array.of(7));
    expect(Array.from(await atServer)).toEqual([7]);
    await client.setSignals({ dtr: true });
    expect(server.signals.dtr).toBe(true);
  });

  it("a refused connection gets ser2net's line and a close, nothing else", async () => {
    const { server } = await setup();
    const raw = net.connect(server.port, "127.0.0.1");
    const chunks: Buffer[] = [];
    raw.on("data", (c: Buffer) => chunks.push(c));
    await new Promise((r) => raw.once("close", r));
    expect(Buffer.concat(chunks).toString("latin1")).toBe("Port already in use\r\n");
  });

  it("after the first client closes, the next one is served at once", async () => {
    const { server, client } = await setup();
    await client.close();
    const second = await openTransport(server.url);
    cleanups.push(() => second.close());
    const got = readBytes(second, 1);
    await server.write(Uint8Array.of(0x42));
    expect(Array.from(await got)).toEqual([0x42]);
  });

  it("refused connection -> E_NO_PORT with a hint", async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await openTransport(`rfc2217://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RsagenError);
    expect((err as RsagenError).code).toBe("E_NO_PORT");
    expect((err as RsagenError).message).toMatch(/connection refused/);
    expect((err as RsagenError).hint).toMatch(/server/);
  });

  it("a plain TCP server that never negotiates -> clear E_NO_PORT after the timeout", async () => {
    const silent = net.createServer((s) => s.on("error", () => undefined).resume());
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => silent.close(() => r())));
    const port = (silent.address() as net.AddressInfo).port;
    const err = await openTransport(`rfc2217://127.0.0.1:${port}`, { connectTimeoutMs: 300 }).catch(
      (e: unknown) => e,
    );
    expect((err as RsagenError).code).toBe("E_NO_PORT");
    expect((err as RsagenError).message).toMatch(/COM-PORT-OPTION/);
  });

  it("a server that refuses COM-PORT-OPTION -> E_NO_PORT", async () => {
    const refusing = net.createServer((s) => {
      s.on("error", () => undefined);
      s.on("data", (d: Buffer) => {
        // Answer every WILL x with DONT x and every DO x with WONT x (a plain telnet server).
        const out: number[] = [];
        for (let i = 0; i + 2 < d.length; i++) {
          if (d[i] === 255 && (d[i + 1] === 251 || d[i + 1] === 253))
            out.push(255, d[i + 1] === 251 ? 254 : 252, d[i + 2]!);
        }
        s.write(Buffer.from(out));
      });
    });
    await new Promise<void>((r) => refusing.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => refusing.close(() => r())));
    const port = (refusing.address() as net.AddressInfo).port;
    const err = await openTransport(`rfc2217://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect((err as RsagenError).code).toBe("E_NO_PORT");
    expect((err as RsagenError).message).toMatch(/refused/);
  });

  it("a server that does not acknowledge settings -> E_IO naming the command", async () => {
    // Agrees to COM-PORT-OPTION but never answers subnegotiations.
    const mute = net.createServer((s) => {
      s.on("error", () => undefined).resume();
      s.write(Buffer.from([255, 253, 44]));
    });
    await new Promise<void>((r) => mute.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => mute.close(() => r())));
    const port = (mute.address() as net.AddressInfo).port;
    const err = await openTransport(`rfc2217://127.0.0.1:${port}`, { ackTimeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    expect((err as RsagenError).code).toBe("E_IO");
    expect((err as RsagenError).message).toMatch(/did not acknowledge SET-BAUDRATE/);
  });
});

describe("port strings", () => {
  it("rejects malformed rfc2217 URLs and other schemes", async () => {
    await expect(openTransport("rfc2217://host")).rejects.toMatchObject({ code: "E_USAGE" });
    await expect(openTransport("rfc2217://host:99999")).rejects.toMatchObject({ code: "E_USAGE" });
    await expect(openTransport("socket://host:1")).rejects.toMatchObject({ code: "E_USAGE" });
    await expect(openTransport("rfc2217://host:4000?poll_modem")).rejects.toMatchObject({ code: "E_USAGE" });
  });

  it("accepts ?ign_set_control (the form esp_rfc2217_server prints)", () => {
    expect(parsePortSpec("rfc2217://10.0.0.2:2217?ign_set_control")).toEqual({
      kind: "rfc2217",
      host: "10.0.0.2",
      port: 2217,
      ignSetControl: true,
    });
    expect(parsePortSpec("rfc2217://[::1]:4000")).toMatchObject({ host: "::1", ignSetControl: false });
  });
});

describe("?ign_set_control against a server that never answers DTR/RTS (as esp_rfc2217_server)", () => {
  /** Agrees to RFC 2217, answers every COM-PORT command except SET-CONTROL DTR/RTS (8, 9, 11, 12). */
  async function espLikeServer(): Promise<{ url: string; lines: number[] }> {
    const lines: number[] = [];
    const srv = net.createServer((s) => {
      s.on("error", () => undefined);
      s.write(Buffer.from([255, 251, 44, 255, 253, 44]));
      s.on("data", (d: Buffer) => {
        for (let i = 0; i + 4 < d.length; i++) {
          if (d[i] !== 255 || d[i + 1] !== 250 || d[i + 2] !== 44) continue;
          const end = d.indexOf(Buffer.from([255, 240]), i);
          const cmd = d[i + 3]!;
          const value = d.subarray(i + 4, end);
          if (cmd === 5 && [8, 9, 11, 12].includes(value[0]!)) {
            lines.push(value[0]!);
            continue;
          }
          s.write(Buffer.concat([Buffer.from([255, 250, 44, cmd + 100]), value, Buffer.from([255, 240])]));
        }
      });
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => srv.close(() => r())));
    return { url: `rfc2217://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, lines };
  }

  it("sends every line change in order without waiting, and keeps its reset lines", async () => {
    const { url, lines } = await espLikeServer();
    const started = Date.now();
    const client = await openTransport(`${url}?ign_set_control`, { ackTimeoutMs: 2000 });
    cleanups.push(() => client.close());
    await client.setSignals({ dtr: false, rts: true });
    await client.setSignals({ dtr: true, rts: false });
    await client.setSignals({ dtr: false });
    expect(Date.now() - started).toBeLessThan(1500); // no 2 s answer wait anywhere
    expect(client.capabilities.hasResetLines).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    // Both lines per change, as always (SET-CONTROL codes: 8/9 DTR on/off, 11/12 RTS on/off):
    // open (RTS first, so EN is not pulsed), then DTR=0 RTS=1, DTR=1 RTS=0, DTR=0 RTS=0.
    expect(lines).toEqual([12, 9, 9, 11, 8, 12, 9, 12]);
  });

  it("without it, the first unanswered DTR command costs the answer timeout and the reset lines", async () => {
    const { url } = await espLikeServer();
    const client = await openTransport(url, { ackTimeoutMs: 300 });
    cleanups.push(() => client.close());
    expect(client.capabilities.hasResetLines).toBe(false);
  });
});
