/**
 * Test helper: a Web-Serial-shaped port (what esptool-js's Transport drives) over the project's
 * Transport (here the RFC 2217 client). Kept local to the sim tests until the serial engineer's
 * src/serial/webserial-adapter.ts lands; it follows esptool-js-notes.md: one ReadableStream for
 * the whole open period, setSignals always sends both lines, setBaudRate changes in place.
 */
import type { Transport } from "../../../src/serial/transport.js";

export class WebSerialShim {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  private dtr = false;
  private rts = false;

  constructor(private readonly t: Transport) {}

  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    return {};
  }

  async open(o: { baudRate: number }): Promise<void> {
    if (!this.t.isOpen) await this.t.open();
    await this.t.setBaud(o.baudRate);
    let onData: ((c: Uint8Array) => void) | undefined;
    this.readable = new ReadableStream<Uint8Array>({
      start: (ctrl) => {
        onData = (c) => ctrl.enqueue(Uint8Array.from(c));
        this.t.on("data", onData);
      },
      cancel: () => {
        if (onData) this.t.off("data", onData);
      },
    });
    this.writable = new WritableStream<Uint8Array>({ write: (chunk) => this.t.write(chunk) });
  }

  async setBaudRate(baud: number): Promise<void> {
    await this.t.setBaud(baud);
  }

  async setSignals(s: { dataTerminalReady?: boolean; requestToSend?: boolean }): Promise<void> {
    if (s.dataTerminalReady !== undefined) this.dtr = s.dataTerminalReady;
    if (s.requestToSend !== undefined) this.rts = s.requestToSend;
    await this.t.setSignals({ dtr: this.dtr, rts: this.rts });
  }

  async close(): Promise<void> {
    this.readable = null;
    this.writable = null;
    await this.t.close();
  }
}
