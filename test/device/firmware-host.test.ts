/**
 * Protocol conformance of the real firmware: the host build rsagen-fw (contract C2: console on
 * stdin/stdout) driven by DeviceClient and by raw frames, checked against docs/protocol.md.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeviceClient, type DeviceRequestError } from "../../src/device/client.js";
import { duplexFromStreams } from "../../src/device/duplex.js";
import { encodeFrame, type Frame, FrameDecoder } from "../../src/device/frame.js";
import { decodeDeviceFrame, encodeKeygenRequest, MsgType } from "../../src/device/messages.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const buildDir = mkdtempSync(join(tmpdir(), "rsagen-fw-proto-"));
let exe = "";

beforeAll(() => {
  execFileSync("cmake", ["-S", join(root, "firmware/host"), "-B", buildDir], { stdio: "pipe" });
  execFileSync("cmake", ["--build", buildDir, "--target", "rsagen-fw", "-j2"], { stdio: "pipe" });
  exe = join(buildDir, "rsagen-fw");
}, 300_000);
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});

/** Starts the firmware; `raw` collects every frame it sends, whoever asked. */
async function start(target = "esp32c3") {
  const child = spawn(exe, ["--target", target], { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  const raw: Frame[] = [];
  const dec = new FrameDecoder();
  child.stdout!.on("data", (b: Buffer) => {
    for (const it of dec.push(b)) if (it.kind === "frame") raw.push(it);
  });
  const client = new DeviceClient(duplexFromStreams(child.stdout!, child.stdin!));
  const lines: string[] = [];
  client.on("text", (l) => lines.push(l));
  const boot = await client.waitForEvent("boot", 10_000);
  const sendRaw = (bytes: Uint8Array) => new Promise<void>((r) => child.stdin!.write(bytes, () => r()));
  return { child, client, raw, lines, boot, sendRaw };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe("host firmware rsagen-fw speaks docs/protocol.md", () => {
  it("BOOT, HELLO, binary PING, a verified key job, RELEASE, errors and REBOOT", async () => {
    const { child, client, boot, lines } = await start("esp32c3");
    expect(boot.boot).toMatchObject({ protoVersion: 1, target: "esp32c3" });
    expect(boot.boot.flags.hostBuild).toBe(true);
    const info = await client.hello();
    expect(info).toMatchObject({ protoVersion: 1, target: "esp32c3", idfVersion: "host", jobState: "idle" });
    expect(info.minBits).toBeLessThanOrEqual(1024);
    expect(info.maxBits).toBeGreaterThanOrEqual(4096);
    await client.ping(Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) & 0xff));

    const done = client.waitForEvent("done", 60_000);
    const jobId = await client.keygen({ bits: 2048, exponent: 65537 });
    const s = (await done).status;
    expect(s).toMatchObject({ state: "done", jobId, bits: 2048, exponent: 65537, mbedtlsError: 0 });
    expect(await client.status()).toEqual(s);
    const [priv, pub] = await Promise.all([
      client.readPart("priv", s.privLen),
      client.readPart("pub", s.pubLen),
    ]);
    expect(createHash("sha256").update(priv).digest("hex")).toBe(s.privSha256);
    expect(createHash("sha256").update(pub).digest("hex")).toBe(s.pubSha256);
    const key = createPrivateKey({ key: Buffer.from(priv), format: "der", type: "pkcs1" });
    expect(key.asymmetricKeyDetails).toMatchObject({ modulusLength: 2048, publicExponent: 65537n });
    expect(
      Buffer.from(createPublicKey(key).export({ type: "spki", format: "der" })).equals(Buffer.from(pub)),
    ).toBe(true);
    // READ past the end: RANGE; at the end: zero bytes.
    expect((await client.read("pub", s.pubLen, 10)).data.length).toBe(0);
    const range = await client.read("pub", s.pubLen + 1, 10).catch((e: unknown) => e);
    expect((range as DeviceRequestError).device?.name).toBe("RANGE");

    expect(await client.release()).toEqual({ prevState: "done", jobId });
    expect(await client.release()).toEqual({ prevState: "idle", jobId: 0 });
    const noJob = await client.read("priv", 0, 16).catch((e: unknown) => e);
    expect((noJob as DeviceRequestError).device?.name).toBe("NO_JOB");
    const bad = await client.keygen({ bits: 1000, exponent: 65537 }).catch((e: unknown) => e);
    expect((bad as DeviceRequestError).device?.name).toBe("BAD_ARGS");
    const unknown = await client.request(0x3e).catch((e: unknown) => e);
    expect((unknown as DeviceRequestError).device?.name).toBe("UNKNOWN_TYPE");

    const exit = once(child, "exit");
    await client.reboot("normal");
    expect((await exit)[0]).toBe(3);
    expect(lines.some((l) => /^I \(\d+\) /.test(l))).toBe(true);
  }, 90_000);

  it("CANCEL of a running 4096-bit job answers once the task is gone; the board stays usable", async () => {
    const { client } = await start("esp32");
    const jobId = await client.keygen({ bits: 4096, exponent: 65537 });
    expect((await client.status()).state).toBe("running");
    expect(await client.cancel()).toEqual({ prevState: "running", jobId });
    expect((await client.status()).state).toBe("idle");
    expect(await client.cancel()).toEqual({ prevState: "idle", jobId: 0 });
    expect(await client.ping(Uint8Array.of(1))).toBeGreaterThan(0);
  }, 60_000);

  it("a repeated KEYGEN frame (same id, same payload) is answered as a duplicate, not BUSY", async () => {
    const { client, raw, sendRaw } = await start();
    const f = encodeFrame(MsgType.KEYGEN, 4242, encodeKeygenRequest({ bits: 4096, exponent: 65537 }));
    await sendRaw(f);
    await sendRaw(f);
    await until(() => raw.filter((r) => r.requestId === 4242).length === 2);
    const answers = raw.filter((r) => r.requestId === 4242).map(decodeDeviceFrame);
    expect(answers.map((a) => a.kind)).toEqual(["keygen", "keygen"]);
    const ids = answers.map((a) => (a.kind === "keygen" ? a.jobId : -1));
    expect(ids[0]).toBe(ids[1]);
    // Another id with the same payload is a new request: BUSY.
    await sendRaw(encodeFrame(MsgType.KEYGEN, 4243, encodeKeygenRequest({ bits: 4096, exponent: 65537 })));
    await until(() => raw.some((r) => r.requestId === 4243));
    const busy = decodeDeviceFrame(raw.find((r) => r.requestId === 4243)!);
    expect(busy.kind === "error" && busy.error.name).toBe("BUSY");
    expect((await client.cancel()).prevState).toBe("running");
  }, 60_000);

  it("resynchronises after garbage and a truncated frame on its input", async () => {
    const { raw, sendRaw } = await start();
    const ping = encodeFrame(MsgType.PING, 77, Uint8Array.of(5, 6, 7));
    const cut = encodeFrame(MsgType.PING, 76, new Uint8Array(40)).subarray(0, 12); // valid header, then lost
    await sendRaw(Buffer.concat([Buffer.from("junk\xc1\xf5\x01\x02zz\xc1", "latin1"), cut, ping]));
    await until(() => raw.some((r) => r.requestId === 77), 3000);
    const answer = decodeDeviceFrame(raw.find((r) => r.requestId === 77)!);
    expect(answer.kind === "ping" && Array.from(answer.data)).toEqual([5, 6, 7]);
    expect(raw.some((r) => r.requestId === 76)).toBe(false);
  }, 30_000);

  it("versioning: HELLO of another version gets the device's HELLO, other requests ERROR VERSION", async () => {
    const { raw, sendRaw } = await start();
    await sendRaw(encodeFrame(MsgType.HELLO, 500, new Uint8Array(0), { version: 2 }));
    await sendRaw(encodeFrame(MsgType.PING, 501, Uint8Array.of(1), { version: 2 }));
    await until(() => raw.some((r) => r.requestId === 500) && raw.some((r) => r.requestId === 501));
    const hello = raw.find((r) => r.requestId === 500)!;
    expect(hello.version).toBe(1);
    expect(decodeDeviceFrame(hello).kind).toBe("hello");
    const err = decodeDeviceFrame(raw.find((r) => r.requestId === 501)!);
    expect(err.kind === "error" && err.error).toMatchObject({
      name: "VERSION",
      requestType: MsgType.PING,
      protoVersion: 1,
    });
  }, 30_000);
});
