/**
 * Pseudo-terminals for tests and `rsagen sim --pty`. Node has no openpty(), so a small Python 3
 * program (standard library `pty`, `tty`, `select`; python3 is on Debian and in CI) opens them and
 * relays bytes. Chosen over socat (an extra apt package) and a C helper (a build step): the script
 * is embedded here, so it also works from the published dist/ without extra files.
 *
 * - pair: two ptys in raw mode whose masters are joined, like `socat PTY,raw PTY,raw`; each slave
 *   path behaves like one end of a null-modem cable. Lives until close() (or until its stdin
 *   closes, i.e. when this process dies).
 * - bridge: one raw pty whose master is this process's byte stream: what a program writes to the
 *   slave path arrives as 'data', write() sends bytes to it. The virtual board's UART on a pty.
 * The helper keeps its own slave descriptors open so the master never sees EIO while no program
 * has the slave open. A pty has no DTR/RTS, so a board on a pty cannot be reset by the host.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { RsagenError } from "../errors.js";

const HELPER = String.raw`
import json, os, pty, select, signal, sys, tty
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
def raw_pty():
    m, s = pty.openpty()
    tty.setraw(s)
    return m, s, os.ttyname(s)
def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]
def read(fd):
    try:
        return os.read(fd, 65536)
    except OSError:
        return b""
stdin = sys.stdin.fileno()
stdout = sys.stdout.fileno()
if sys.argv[1] == "pair":
    ma, sa, pa = raw_pty()
    mb, sb, pb = raw_pty()
    write_all(stdout, (json.dumps({"a": pa, "b": pb}) + "\n").encode())
    peer = {ma: mb, mb: ma}
    while True:
        ready, _, _ = select.select([ma, mb, stdin], [], [])
        if stdin in ready and not read(stdin):
            break
        for fd in (ma, mb):
            if fd in ready:
                data = read(fd)
                if data:
                    write_all(peer[fd], data)
else:
    m, s, p = raw_pty()
    write_all(stdout, (json.dumps({"path": p}) + "\n").encode())
    while True:
        ready, _, _ = select.select([m, stdin], [], [])
        if stdin in ready:
            data = read(stdin)
            if not data:
                break
            write_all(m, data)
        if m in ready:
            data = read(m)
            if data:
                write_all(stdout, data)
`;

interface Started {
  child: ChildProcess;
  header: Record<string, string>;
  rest: Buffer;
}

function startHelper(mode: "pair" | "bridge"): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", ["-c", HELPER, mode], { stdio: ["pipe", "pipe", "pipe"] });
    let buf = Buffer.alloc(0);
    let stderr = "";
    const fail = (why: string) =>
      reject(
        new RsagenError(
          "E_SIM",
          `cannot create a pty: ${why}`,
          "pty support needs python3 (apt-get install python3)",
        ),
      );
    child.once("error", (err) => fail(err.message));
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("exit", (code) =>
      fail(`helper exited with status ${code}${stderr ? `: ${stderr.trim()}` : ""}`),
    );
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(0x0a);
      if (nl < 0) return;
      child.stdout!.off("data", onData);
      child.removeAllListeners("exit");
      const header = JSON.parse(buf.subarray(0, nl).toString()) as Record<string, string>;
      resolve({ child, header, rest: buf.subarray(nl + 1) });
    };
    child.stdout!.on("data", onData);
  });
}

function stopHelper(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.stdin?.end();
    child.kill("SIGTERM");
  });
}

export interface PtyPair {
  /** Slave path of end A (e.g. /dev/pts/3). */
  a: string;
  /** Slave path of end B. */
  b: string;
  /** Helper process id (for tests that simulate a vanished port). */
  pid: number | undefined;
  close(): Promise<void>;
}

/** Two joined ptys: bytes written to one slave path are read from the other. */
export async function openPtyPair(): Promise<PtyPair> {
  const { child, header } = await startHelper("pair");
  if (!header.a || !header.b) throw new RsagenError("E_SIM", "pty helper gave no paths", "report this");
  return { a: header.a, b: header.b, pid: child.pid, close: () => stopHelper(child) };
}

export interface PtyBridgeEvents {
  /** Bytes a program wrote to the pty slave. */
  data: [bytes: Uint8Array];
  close: [];
}

/** One pty whose other side is this object: the path is what a user passes as --port. */
export class PtyBridge extends EventEmitter<PtyBridgeEvents> {
  private constructor(
    readonly path: string,
    private readonly child: ChildProcess,
  ) {
    super();
  }

  static async open(): Promise<PtyBridge> {
    const { child, header, rest } = await startHelper("bridge");
    if (!header.path) throw new RsagenError("E_SIM", "pty helper gave no path", "report this");
    const bridge = new PtyBridge(header.path, child);
    child.stdout!.on("data", (d: Buffer) =>
      bridge.emit("data", new Uint8Array(d.buffer, d.byteOffset, d.length)),
    );
    child.once("exit", () => bridge.emit("close"));
    child.stdin!.on("error", () => undefined);
    if (rest.length > 0) queueMicrotask(() => bridge.emit("data", new Uint8Array(rest)));
    return bridge;
  }

  /** Sends bytes to the program that has the slave open. */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.child.stdin!.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): Promise<void> {
    return stopHelper(this.child);
  }
}
