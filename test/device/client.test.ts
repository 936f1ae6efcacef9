import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DeviceClient, type DeviceEvent, DeviceRequestError } from "../../src/device/client.js";
import { duplexFromStreams } from "../../src/device/duplex.js";
import { MsgType } from "../../src/device/messages.js";
import type { RsagenError } from "../../src/errors.js";
import { rejectionOf } from "../helpers/error-of.js";
import { Responder, type ResponderOptions } from "./responder.js";

/** A real OS socket pair over loopback TCP. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("no port");
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const client = connect(addr.port, "127.0.0.1");
  await once(client, "connect");
  const [device] = await accepted;
  server.close();
  client.setNoDelay(true);
  device.setNoDelay(true);
  return [client, device];
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function setup(opts: ResponderOptions = {}, firstRequestId?: number) {
  const [hostSide, deviceSide] = await socketPair();
  const responder = new Responder(duplexFromStreams(deviceSide), opts);
  const client = new DeviceClient(duplexFromStreams(hostSide), firstRequestId ? { firstRequestId } : {});
  const lines: string[] = [];
  const events: DeviceEvent[] = [];
  client.on("text", (l) => lines.push(l));
  client.on("event", (e) => events.push(e));
  cleanups.push(() => {
    responder.stop();
    client.close();
    hostSide.destroy();
    deviceSide.destroy();
  });
  return { client, responder, lines, events, hostSide, deviceSide };
}

describe("DeviceClient over a socket pair against the TypeScript responder", () => {
  it("gets the BOOT event, HELLO info and the console lines between frames", async () => {
    const { client, responder, lines } = await setup();
    const boot = client.waitForEvent("boot", 2000);
    await responder.boot();
    expect((await boot).boot.target).toBe("esp32");
    const info = await client.hello();
    expect(info).toMatchObject({ protoVersion: 1, target: "esp32", jobState: "idle", maxBits: 4096 });
    expect(info.flags.hostBuild).toBe(true);
    expect(lines).toContain("I (0) rsagen: command loop ready");
    expect(lines.some((l) => /^D \(\d+\) cmd: type 0x1 id \d+$/.test(l))).toBe(true);
  });

  it("echoes pings up to the maximum payload; request ids wrap from 65535 to 1", async () => {
    const { client, responder } = await setup({}, 65534);
    for (const n of [0, 1, 1024]) await client.ping(new Uint8Array(n).map((_, i) => (i * 31) & 0xff));
    expect(responder.requests.map((r) => r.requestId)).toEqual([65534, 65535, 1]);
    await expect(client.ping(new Uint8Array(1025))).rejects.toThrow(RangeError);
  });

  it("resends the identical frame with the same id after a timeout", async () => {
    const { client, responder } = await setup({
      dropAnswer: (req, nth) => req.type === MsgType.PING && nth === 1,
    });
    await client.ping(Uint8Array.from([1, 2, 3]), { timeoutMs: 100 });
    expect(responder.requests).toHaveLength(2);
    expect(responder.requests[0]!.requestId).toBe(responder.requests[1]!.requestId);
    expect(Buffer.from(responder.requests[1]!.payload)).toEqual(Buffer.from([1, 2, 3]));
    expect(client.stats.retries).toBe(1);
  });

  it("gives up after the retries with E_DEVICE_PROTOCOL", async () => {
    const { client, responder } = await setup({ dropAnswer: () => true });
    const t0 = performance.now();
    const err = await rejectionOf(client.status({ timeoutMs: 60, retries: 2 }));
    expect(err.code).toBe("E_DEVICE_PROTOCOL");
    expect(err.message).toMatch(/no answer to STATUS after 3 tries/);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(170);
    expect(new Set(responder.requests.map((r) => r.requestId)).size).toBe(1);
    expect(responder.requests).toHaveLength(3);
  });

  it("runs a whole key job: progress, DONE, pipelined readback that verifies, release", async () => {
    const { client, events, responder } = await setup({ keygenMs: 300, progressMs: 50 });
    const done = client.waitForEvent("done", 20_000);
    const jobId = await client.keygen({ bits: 1024, exponent: 65537 });
    expect(jobId).toBe(1);
    const status = (await done).status;
    expect(status).toMatchObject({ state: "done", jobId: 1, bits: 1024, exponent: 65537 });
    expect(events.filter((e) => e.kind === "progress").length).toBeGreaterThanOrEqual(2);
    expect(await client.status()).toEqual(status);

    // Small chunks force many READs in flight at once.
    const priv = await client.readPart("priv", status.privLen, { window: 4, chunk: 100 });
    const pub = await client.readPart("pub", status.pubLen);
    const reads = responder.requests.filter((r) => r.type === MsgType.READ).length;
    expect(reads).toBe(Math.ceil(status.privLen / 100) + Math.ceil(status.pubLen / 1016));
    expect(createHash("sha256").update(priv).digest("hex")).toBe(status.privSha256);
    expect(createHash("sha256").update(pub).digest("hex")).toBe(status.pubSha256);
    const key = createPrivateKey({ key: Buffer.from(priv), format: "der", type: "pkcs1" });
    const spki = createPublicKey(key).export({ type: "spki", format: "der" });
    expect(Buffer.from(spki).equals(Buffer.from(pub))).toBe(true);
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(1024);

    expect(await client.release()).toEqual({ prevState: "done", jobId: 1 });
    expect((await client.status()).state).toBe("idle");
    const noJob = await rejectionOf(client.read("priv", 0, 10));
    expect(noJob).toBeInstanceOf(DeviceRequestError);
    expect((noJob as DeviceRequestError).device.name).toBe("NO_JOB");
  });

  it("a retried KEYGEN (lost answer) is a duplicate: same job id, one job started", async () => {
    let keygenFrames = 0;
    const { client, responder } = await setup({
      keygenMs: 3000,
      // Only the answer to the very first KEYGEN frame is lost.
      dropAnswer: (req) => req.type === MsgType.KEYGEN && keygenFrames++ === 0,
    });
    const jobId = await client.keygen({ bits: 1024, exponent: 65537 }, { timeoutMs: 100 });
    expect(jobId).toBe(1);
    expect(responder.jobsStarted).toBe(1);
    expect(responder.requests.filter((r) => r.type === MsgType.KEYGEN)).toHaveLength(2);

    // A new KEYGEN (new id) while the job exists is BUSY; CANCEL waits for the task, then frees.
    const busy = await rejectionOf(client.keygen({ bits: 2048, exponent: 65537 }));
    expect(busy.code).toBe("E_DEVICE_BUSY");
    expect((busy as DeviceRequestError).device).toMatchObject({ name: "BUSY", requestType: MsgType.KEYGEN });
    expect(await client.cancel()).toEqual({ prevState: "running", jobId: 1 });
    expect(await client.cancel()).toEqual({ prevState: "idle", jobId: 0 }); // idempotent
    const notReady = await rejectionOf(client.read("pub", 0, 1));
    expect((notReady as DeviceRequestError).device.name).toBe("NO_JOB");
  });

  it("refuses a device of another protocol version with a clear error", async () => {
    const { client } = await setup({ version: 2 });
    const err = await rejectionOf(client.hello());
    expect(err.code).toBe("E_DEVICE_PROTOCOL");
    expect(err.message).toBe("device speaks protocol v2, this rsagen speaks v1");
    expect(err.hint).toMatch(/rebuild and flash/);
    const t0 = performance.now();
    const err2 = await rejectionOf(client.status({ timeoutMs: 2000 }));
    expect(err2.message).toMatch(/protocol v2/);
    expect(performance.now() - t0).toBeLessThan(1000); // answered by ERROR VERSION, not a timeout
  });

  it("keeps working on a noisy line: corrupted frames are dropped and retried", async () => {
    const { client } = await setup({ corruptEvery: 3 });
    for (let i = 0; i < 30; i++) {
      const data = Uint8Array.from([i, 0xc1, 0xf5, i]);
      await client.ping(data, { timeoutMs: 80, retries: 3 });
    }
    const s = client.stats;
    expect(s.decoder.crcErrors + s.decoder.headerErrors).toBeGreaterThan(0);
    expect(s.retries).toBeGreaterThan(0);
  });

  it("late answers to a retried request are counted, not misdelivered", async () => {
    // The answer to the first try arrives after the client resent: the second answer is unmatched.
    const { client, responder } = await setup({
      delayAnswer: (req, nth) => (req.type === MsgType.PING && nth === 1 ? 60 : 0),
    });
    await client.ping(Uint8Array.from([9]), { timeoutMs: 40, retries: 2 });
    const { retries } = client.stats;
    expect(retries).toBeGreaterThanOrEqual(1);
    // The device answers in order, so once the next ping is answered every late answer is in.
    expect(await client.ping(Uint8Array.from([10, 11]))).toBeGreaterThan(0);
    expect(client.stats.unmatchedFrames).toBe(retries);
    expect(responder.requests.map((r) => r.payload.length)).toEqual([...Array(retries + 1).fill(1), 2]);
  });

  it("hands out a held-back 0xC1 as console text after the line goes idle", async () => {
    const [hostSide, deviceSide] = await socketPair();
    const client = new DeviceClient(duplexFromStreams(hostSide), { idleFlushMs: 300 });
    cleanups.push(() => {
      client.close();
      hostSide.destroy();
      deviceSide.destroy();
    });
    const seen: number[] = [];
    client.on("console", (b) => seen.push(...b));
    deviceSide.write(Buffer.from([0x41, 0x42, 0xc1, 0xf5, 0x01]));
    const t0 = Date.now();
    while (seen.length < 2 && Date.now() - t0 < 200) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual([0x41, 0x42]); // C1 F5 01 could still be a frame
    await new Promise((r) => setTimeout(r, 600));
    expect(seen).toEqual([0x41, 0x42, 0xc1, 0xf5, 0x01]);
    expect(client.stats.decoder.textBytes).toBe(5);
  });

  it("fails pending requests with E_PORT_LOST when the stream closes", async () => {
    const { client, deviceSide } = await setup({ dropAnswer: () => true });
    const pending = client.status({ timeoutMs: 5000 });
    const closed = once(client, "close");
    setTimeout(() => deviceSide.destroy(), 50);
    const err = await rejectionOf(pending);
    expect(err.code).toBe("E_PORT_LOST");
    const [reason] = (await closed) as [RsagenError];
    expect(reason.code).toBe("E_PORT_LOST");
    expect((await rejectionOf(client.hello())).code).toBe("E_PORT_LOST");
  });
});
