// Interop with pyserial's RFC 2217 client (the one esptool uses for rfc2217:// ports), from the
// Debian package python3-serial. Required in CI (.ci/run installs it); skipped elsewhere if absent.
import { spawn, spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { openTransport } from "../../src/serial/open-transport.js";
import { Rfc2217Server, type SignalChange } from "../../src/serial/rfc2217-server.js";

function pythonWithPyserial(): string | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    if (spawnSync(py, ["-c", "import serial.rfc2217"]).status === 0) return py;
  }
  return undefined;
}
const python = pythonWithPyserial();
const required = process.env.CI === "true";

const CLIENT = String.raw`
import serial, sys
port = serial.serial_for_url(sys.argv[1], baudrate=115200, timeout=3)
data = bytes(range(256)) + b"\xff\xff\xff"
port.write(data)
back = port.read(len(data))
if back != data:
    sys.exit("echo mismatch: %r" % back[:32])
port.baudrate = 460800
port.dtr = False
port.rts = True
port.dtr = True
port.rts = False
port.write(b"\xfe\xff")
if port.read(2) != b"\xfe\xff":
    sys.exit("second echo mismatch")
port.close()
print("OK")
`;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!python && !required)("pyserial rfc2217 client against our server", () => {
  it("negotiates, echoes 0xFF-laden data, changes baud, toggles DTR/RTS", async () => {
    expect(python, "python3-serial is missing (apt-get install python3-serial)").toBeDefined();
    const server = await Rfc2217Server.listen();
    cleanups.push(() => server.close());
    server.on("data", (b) => void server.write(b)); // loopback plug
    const bauds: number[] = [];
    const purges: string[] = [];
    const signals: SignalChange[] = [];
    server.on("baud", (b) => bauds.push(b));
    server.on("purge", (p) => purges.push(p));
    server.on("signals", (s) => signals.push(s));

    const child = spawn(python!, ["-c", CLIENT, server.url], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.trim()).toBe("OK");
    expect(bauds).toContain(460800);
    expect(purges).toContain("receive");
    // pyserial 3.5 asserts DTR then RTS at open; then the script's toggles (rts=True is no change);
    // then the server releases the lines when the client leaves.
    expect(signals.map((s) => [s.line, s.dtr, s.rts])).toEqual([
      ["dtr", true, false],
      ["rts", true, true],
      ["dtr", false, true],
      ["dtr", true, true],
      ["rts", true, false],
      ["dtr", false, false],
    ]);
  });

  it("a second pyserial client is refused (the open fails) while the first keeps the port", async () => {
    expect(python, "python3-serial is missing (apt-get install python3-serial)").toBeDefined();
    const server = await Rfc2217Server.listen();
    cleanups.push(() => server.close());
    const first = await openTransport(server.url);
    cleanups.push(() => first.close());
    const script = `
import serial, sys
try:
    serial.serial_for_url(sys.argv[1], baudrate=115200, timeout=1)
except serial.SerialException as e:
    print("refused:", e)
    sys.exit(0)
sys.exit("opened")
`;
    const child = spawn(python!, ["-c", script, server.url], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(0);
    // pyserial waits its 3 s network timeout for a negotiation that never comes.
    expect(out).toMatch(/^refused: Remote does not seem to support RFC2217/);
    expect(first.isOpen).toBe(true);
    const got = readFirst(first);
    await server.write(Uint8Array.of(9));
    expect(Array.from(await got)).toEqual([9]);
  }, 15_000);
});

function readFirst(t: { once(event: "data", l: (b: Uint8Array) => void): unknown }): Promise<Uint8Array> {
  return new Promise((resolve) => t.once("data", resolve));
}
