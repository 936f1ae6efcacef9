import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { DeviceClient } from "../../src/device/client.js";
import { duplexFromTransport } from "../../src/device/duplex.js";
import { openTransport } from "../../src/serial/open-transport.js";
import { openPtyPair } from "../../src/serial/pty.js";
import { Responder } from "./responder.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("DeviceClient over the serial Transport (serialport backend on a pty pair)", () => {
  it("talks to the responder through real ptys: hello, binary pings, a key job and readback", async () => {
    const pair = await openPtyPair();
    cleanups.push(() => pair.close());
    const host = await openTransport(pair.a, { baud: 115200 });
    cleanups.push(() => host.close());
    const dev = await openTransport(pair.b, { baud: 115200 });
    cleanups.push(() => dev.close());
    const responder = new Responder(duplexFromTransport(dev), { keygenMs: 100, progressMs: 40 });
    cleanups.push(() => responder.stop());
    const client = new DeviceClient(duplexFromTransport(host));
    cleanups.push(() => client.close());
    const lines: string[] = [];
    client.on("text", (l) => lines.push(l));

    const boot = client.waitForEvent("boot", 3000);
    await responder.boot();
    await boot;
    expect((await client.hello()).target).toBe("esp32");
    // Every byte value, LF and CR included, survives the tty layer untouched.
    const all = Uint8Array.from({ length: 1024 }, (_, i) => i & 0xff);
    await client.ping(all);
    const done = client.waitForEvent("done", 20_000);
    await client.keygen({ bits: 1024, exponent: 65537 });
    const s = (await done).status;
    const priv = await client.readPart("priv", s.privLen);
    expect(createHash("sha256").update(priv).digest("hex")).toBe(s.privSha256);
    expect((await client.release()).prevState).toBe("done");
    expect(lines).toContain("I (0) rsagen: command loop ready");
    expect(client.stats.decoder.crcErrors + client.stats.decoder.headerErrors).toBe(0);
  });
});
