/**
 * The Web-Serial-shaped `device` esptool-js 0.7.0's Transport wants, over a FlashPort (shape from
 * /work/shared/esptool-js-notes.md): one ReadableStream per open (esptool-js takes a reader per
 * chunk), a WritableStream, setSignals with possibly one key (the other is remembered, since the
 * port always sets both), and setBaudRate for an in-place baud change.
 */
import type { FlashPort, Signals } from "./port.js";

export class FlashPortSerialDevice {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  private signals: Signals = { dtr: false, rts: false };
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly port: FlashPort) {}

  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    return this.port.usb ? { usbVendorId: this.port.usb.vid, usbProductId: this.port.usb.pid } : {};
  }

  async open(options: { baudRate: number }): Promise<void> {
    if (options.baudRate !== this.port.baud) await this.port.setBaud(options.baudRate);
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.unsubscribe = this.port.onData((chunk) => controller.enqueue(chunk));
      },
      cancel: () => this.stopReading(),
    });
    this.writable = new WritableStream<Uint8Array>({ write: (chunk) => this.port.write(chunk) });
  }

  async close(): Promise<void> {
    this.stopReading();
    this.readable = null;
    this.writable = null;
  }

  async setSignals(s: { dataTerminalReady?: boolean; requestToSend?: boolean }): Promise<void> {
    this.signals = {
      dtr: s.dataTerminalReady ?? this.signals.dtr,
      rts: s.requestToSend ?? this.signals.rts,
    };
    await this.port.setSignals(this.signals);
  }

  async setBaudRate(baud: number): Promise<void> {
    await this.port.setBaud(baud);
  }

  private stopReading(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
