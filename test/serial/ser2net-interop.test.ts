// Our RFC 2217 client against a real ser2net (Debian package ser2net, installed by .ci/run) that
// serves one end of a pty pair; the test holds the other end through the serialport backend.
// Required in CI; skipped elsewhere if ser2net is absent.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { RsagenError } from "../../src/errors.js";
import { openTransport } from "../../src/serial/open-transport.js";
import { openPtyPair } from "../../src/serial/pty.js";
import { allBytes, nextEvent, readBytes } from "./helpers.js";

const haveSer2net = spawnSync("ser2net", ["-v"]).status === 0;
const required = process.env.CI === "true";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitListening(port: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => {
        c.destroy();
        resolve(true);
      });
      c.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error("ser2net did not start listening");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startSer2net(device: string): Promise<{ url: string; child: ChildProcess }> {
  const dir = await mkdtemp(path.join(tmpdir(), "rsagen-ser2net-"));
  const port = await freePort();
  const config = path.join(dir, "ser2net.yaml");
  await writeFile(
    config,
    `connection: &board\n  accepter: telnet(rfc2217),tcp,127.0.0.1,${port}\n  connector: serialdev,${device},115200n81,local\n`,
  );
  const child = spawn("ser2net", ["-n", "-c", config, "-P", path.join(dir, "pid")], { stdio: "ignore" });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });
  await waitListening(port);
  return { url: `rfc2217://127.0.0.1:${port}`, child };
}

describe.skipIf(!haveSer2net && !required)("RFC 2217 client against ser2net", () => {
  it("negotiates, carries 0xFF-laden data both ways, changes baud, sets lines, purges", async () => {
    expect(haveSer2net, "ser2net is missing (apt-get install ser2net)").toBe(true);
    const pair = await openPtyPair();
    cleanups.push(() => pair.close());
    const { url } = await startSer2net(pair.a);
    // ser2net on a pty never answers DTR/RTS commands (its ioctl fails): a short wait, then the
    // port is reported without reset lines, like a local pty.
    const client = await openTransport(url, { baud: 115200, ackTimeoutMs: 500 });
    cleanups.push(() => client.close());
    expect(client.capabilities.hasResetLines).toBe(false);
    const far = await openTransport(pair.b);
    cleanups.push(() => far.close());

    const payload = allBytes();
    const atFar = readBytes(far, payload.length);
    await client.write(payload);
    expect(Buffer.from(await atFar)).toEqual(Buffer.from(payload));
    const atClient = readBytes(client, payload.length);
    await far.write(payload);
    expect(Buffer.from(await atClient)).toEqual(Buffer.from(payload));

    await client.setBaud(460800); // acknowledged by ser2net, or this rejects with E_IO
    expect(client.baud).toBe(460800);
    await client.setSignals({ dtr: true, rts: false });
    await client.setSignals({ dtr: false, rts: true });
    await client.purge("both");
    const again = readBytes(far, 2);
    await client.write(Uint8Array.of(0xff, 0x01));
    expect(Array.from(await again)).toEqual([0xff, 0x01]);
  });

  it("ser2net going away -> E_PORT_LOST", async () => {
    expect(haveSer2net).toBe(true);
    const pair = await openPtyPair();
    cleanups.push(() => pair.close());
    const { url, child } = await startSer2net(pair.a);
    const client = await openTransport(url, { ackTimeoutMs: 500 });
    cleanups.push(() => client.close());
    const closed = nextEvent<RsagenError | undefined>(client, "close");
    child.kill("SIGKILL");
    expect((await closed)?.code).toBe("E_PORT_LOST");
  });
});
