/**
 * serialport's platform binding with a read that notices a hung-up tty.
 *
 * Why: once a tty is hung up (pty master closed, USB-UART unplugged) read(2) on the slave returns 0
 * (end of file) forever, while write(2) fails with EIO and poll(2) reports POLLHUP (Linux
 * drivers/tty/tty_io.c: a hung-up file gets hung_up_tty_read, which returns 0). serialport opens
 * ports O_NONBLOCK with VMIN=1, so a healthy port with no input answers EAGAIN, never 0 — but
 * bindings-cpp 13's unix read loop treats 0 as "try again" and re-reads at once. If the hangup lands
 * while that loop is reading rather than parked on its poller (e.g. before the first read after open
 * reached EAGAIN, which is a matter of thread-pool timing on a loaded machine), it spins on 0-byte
 * reads forever and the stream never closes: the lost port goes unnoticed. Here a 0-byte read is
 * reported as a disconnect, which makes the stream close with a DisconnectedError as it does when
 * the poller sees the hangup.
 */
import { read } from "node:fs";
import { promisify } from "node:util";
import { SerialPort } from "serialport";
import { keepPollInterests } from "./poll-interests.js";

type Binding = typeof SerialPort.binding;
type PortBinding = Awaited<ReturnType<Binding["open"]>>;
type Poller = { once(event: "readable", fn: (err: Error | null) => void): unknown };

const readAsync = promisify(read);

/** Errors of a non-blocking read that mean "no input yet": wait for the poller, then read again. */
const RETRY = new Set(["EAGAIN", "EWOULDBLOCK", "EINTR"]);

function canceled(): Error {
  // serialport's stream ignores errors flagged `canceled` (a read cut short by close()).
  return Object.assign(new Error("Port is not open"), { canceled: true });
}

function readable(poller: Poller): Promise<void> {
  return new Promise((resolve, reject) => {
    poller.once("readable", (err) => (err ? reject(err) : resolve()));
  });
}

async function readUntilData(
  port: { fd: number | null; poller: Poller },
  buffer: Buffer,
  offset: number,
  length: number,
): Promise<{ bytesRead: number; buffer: Buffer }> {
  for (;;) {
    const fd = port.fd;
    if (fd === null) throw canceled();
    try {
      const { bytesRead } = await readAsync(fd, buffer, offset, length, null);
      if (bytesRead > 0) return { bytesRead, buffer };
      throw Object.assign(new Error("the other end hung up (read returned end of file)"), {
        code: "EIO",
        disconnect: true,
      });
    } catch (err) {
      if (!RETRY.has((err as NodeJS.ErrnoException).code ?? "")) throw err;
      if (port.fd === null) throw canceled();
      await readable(port.poller);
    }
  }
}

function withHangupRead(port: PortBinding): PortBinding {
  // Only the unix bindings read a descriptor through a poller; Windows keeps its own read.
  const unix = port as unknown as { fd?: unknown; poller?: unknown };
  if (!("fd" in unix) || typeof unix.poller !== "object" || unix.poller === null) return port;
  const target = port as unknown as { fd: number | null; poller: Poller };
  const original = port.read.bind(port);
  port.read = async (buffer, offset, length) => {
    // The original validates the arguments and the open state; reading is done here.
    if (!Buffer.isBuffer(buffer) || buffer.length < offset + length) return original(buffer, offset, length);
    if (target.fd === null) return original(buffer, offset, length);
    return readUntilData(target, buffer, offset, length);
  };
  return port;
}

/**
 * The detected platform binding, whose opened ports report a hangup instead of spinning on it,
 * and whose poller never drops a pending write's wait for a read's (./poll-interests.ts).
 */
export const hangupAwareBinding: Binding = {
  ...SerialPort.binding,
  list: () => SerialPort.binding.list(),
  async open(options: Parameters<Binding["open"]>[0]) {
    return keepPollInterests(withHangupRead(await SerialPort.binding.open(options as never)));
  },
} as Binding;
