import type { Transport } from "../serial/transport.js";

/**
 * What the flasher needs from a serial connection. The serial engineer's Transport (src/serial)
 * is adapted to this by ./transport-port.ts; tests use in-memory peers. Keeping the surface this
 * small lets the ROM loader be tested byte for byte against recorded ROM replies.
 */

export interface Signals {
  /** DTR asserted (true) pulls the boot strap pin low through the dev-board auto-reset circuit. */
  dtr: boolean;
  /** RTS asserted (true) holds EN/CHIP_PU low (chip in reset). */
  rts: boolean;
}

export interface FlashPort {
  /** Human description for messages, e.g. "/dev/ttyUSB0" or "rfc2217://127.0.0.1:4000". */
  readonly description: string;
  /** USB ids when the port is a local USB device (selects the USB-Serial-JTAG reset). */
  readonly usb?: { vid: number; pid: number } | undefined;
  write(bytes: Uint8Array): Promise<void>;
  /** Subscribe to received bytes; returns an unsubscribe function. */
  onData(listener: (chunk: Uint8Array) => void): () => void;
  /** Subscribe to the port going away (unplugged, server closed); returns an unsubscribe function. */
  onClose(listener: (err?: Error) => void): () => void;
  /** Sets both lines at once (never one alone: serialport would default the other). */
  setSignals(signals: Signals): Promise<void>;
  setBaud(baud: number): Promise<void>;
  readonly baud: number;
  /** The Transport behind the port, for esptool-js (through src/serial/webserial-adapter.ts). */
  readonly transport?: Transport | undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
