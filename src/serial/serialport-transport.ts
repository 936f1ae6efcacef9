/**
 * Local serial port backend through npm `serialport` (USB-UART bridges, USB-Serial-JTAG, and pty
 * slaves). A pty has no modem lines: the DTR/RTS ioctl fails with "Inappropriate ioctl for device"
 * (ENOTTY), so the port is reported with hasResetLines=false and setSignals() only records the state.
 */
import { SerialPort } from "serialport";
import { RsagenError } from "../errors.js";
import { hangupAwareBinding } from "./hangup-binding.js";
import type { PurgeTarget, ResolvedTransportOptions, Signals, TransportCapabilities } from "./transport.js";
import { TransportBase } from "./transport-base.js";

export class SerialPortTransport extends TransportBase {
  private port: SerialPort | undefined;
  private resetLines = true;

  constructor(path: string, options: ResolvedTransportOptions) {
    super(path, options);
  }

  get capabilities(): TransportCapabilities {
    return { kind: "serialport", hasResetLines: this.resetLines, inPlaceBaudChange: true, remote: false };
  }

  async open(): Promise<void> {
    if (this.opened) return;
    this.beginOpen();
    const { format } = this.options;
    const port = new SerialPort({
      path: this.path,
      baudRate: this.currentBaud,
      dataBits: format.dataBits,
      parity: format.parity,
      stopBits: format.stopBits,
      autoOpen: false,
      // serialport's own binding spins instead of closing when the port hangs up (see the file).
      ...{ binding: hangupAwareBinding },
    });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(openError(this.path, err)) : resolve()));
    });
    this.port = port;
    this.opened = true;
    port.on("data", (chunk: Buffer) =>
      this.deliver(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)),
    );
    port.on("error", () => undefined); // reported through 'close' below
    port.on("close", (err: (Error & { disconnected?: boolean }) | null) => {
      this.finish(this.closing, err?.message);
    });
    try {
      this.resetLines = true;
      await this.applySignals(this.options.signals);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const port = this.port;
    if (!this.opened || !port || this.closing) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      if (!port.isOpen) return resolve();
      port.close(() => resolve());
    });
    this.finish(true);
  }

  async write(data: Uint8Array): Promise<void> {
    this.assertUsable();
    const port = this.port!;
    await new Promise<void>((resolve, reject) => {
      port.write(Buffer.from(data.buffer, data.byteOffset, data.length), (err) => {
        if (err)
          return reject(
            this.lost ?? new RsagenError("E_PORT_LOST", `${this.path}: write failed: ${err.message}`),
          );
        port.drain((e) =>
          e ? reject(this.lost ?? new RsagenError("E_PORT_LOST", `${this.path}: ${e.message}`)) : resolve(),
        );
      });
    });
  }

  async setSignals(signals: Partial<Signals>): Promise<void> {
    this.assertUsable();
    await this.applySignals({ ...this.currentSignals, ...signals });
  }

  /**
   * Both lines in one TIOCMSET: serialport's set() fills a missing key with its default (true),
   * so the remembered state of the other line is always passed.
   */
  private async applySignals(target: Signals): Promise<void> {
    this.currentSignals = { ...target };
    if (!this.resetLines) return;
    const port = this.port!;
    await new Promise<void>((resolve, reject) => {
      port.set({ dtr: target.dtr, rts: target.rts }, (err) => {
        if (!err) return resolve();
        if (/inappropriate ioctl|ENOTTY|EINVAL|invalid argument/i.test(err.message)) {
          // A pty or a device without modem control lines.
          this.resetLines = false;
          return resolve();
        }
        reject(new RsagenError("E_IO", `${this.path}: cannot set DTR/RTS: ${err.message}`, "check the port"));
      });
    });
  }

  async setBaud(baud: number): Promise<void> {
    this.assertUsable();
    if (!Number.isInteger(baud) || baud <= 0) {
      throw new RsagenError("E_USAGE", `invalid baud rate ${baud}`, "use a positive integer like 115200");
    }
    const port = this.port!;
    await new Promise<void>((resolve, reject) => {
      port.update({ baudRate: baud }, (err) =>
        err
          ? reject(
              new RsagenError(
                "E_IO",
                `${this.path}: cannot set ${baud} baud: ${err.message}`,
                "try a standard rate such as 115200 or 460800",
              ),
            )
          : resolve(),
      );
    });
    this.currentBaud = baud;
  }

  /** tcflush(TCIOFLUSH): serialport has one flush for both directions, whatever the target. */
  async purge(_target: PurgeTarget = "both"): Promise<void> {
    this.assertUsable();
    const port = this.port!;
    await new Promise<void>((resolve, reject) => {
      port.flush((err) =>
        err ? reject(new RsagenError("E_IO", `${this.path}: flush failed: ${err.message}`)) : resolve(),
      );
    });
  }
}

/** serialport reports errno only as text ("Error: No such file or directory, cannot open ..."). */
export function openError(path: string, err: Error): RsagenError {
  const msg = err.message;
  if (/no such file|ENOENT/i.test(msg)) {
    return new RsagenError(
      "E_NO_PORT",
      `serial port ${path} does not exist`,
      "check that the board is plugged in and pass the right --port (ls /dev/ttyUSB* /dev/ttyACM*)",
      { cause: err },
    );
  }
  if (/permission denied|EACCES|EPERM/i.test(msg)) {
    return new RsagenError(
      "E_PORT_PERMISSION",
      `no permission to open ${path}`,
      "add yourself to the dialout group: `sudo usermod -aG dialout $USER`, then log out and back in",
      { cause: err },
    );
  }
  if (/busy|EBUSY|cannot lock|temporarily unavailable/i.test(msg)) {
    return new RsagenError(
      "E_NO_PORT",
      `serial port ${path} is busy`,
      "another program has it open (a serial monitor, ModemManager, another rsagen); close it and retry",
      { cause: err },
    );
  }
  return new RsagenError(
    "E_NO_PORT",
    `cannot open ${path}: ${msg.replace(/^Error: /, "")}`,
    "check the --port value",
    {
      cause: err,
    },
  );
}
