/**
 * Makes a Transport look like the Web Serial `SerialPort` that esptool-js 0.7.0's Transport drives
 * (see node_modules/esptool-js/lib/webserial.js):
 * - getInfo() -> {usbVendorId, usbProductId} (ESPLoader picks the USB-Serial-JTAG reset from it);
 * - open({baudRate}) / close();
 * - `readable`: the same ReadableStream while open; esptool-js takes a reader per chunk. If a reader
 *   cancels it (esptool-js disconnect()), the port stays open and the next access gets a new
 *   stream, as in the Web Serial spec; bytes arriving in between are kept for it. null once closed.
 * - `writable`: likewise; closing it (esptool-js flushOutput()) does not close the port;
 * - setSignals({dataTerminalReady?, requestToSend?}): esptool-js sends one key at a time
 *   (setRTS, setDTR); the Transport merges with the remembered state and drives both lines;
 * - setBaudRate(baud): present, so esptool-js changes the rate in place instead of reopening.
 */
import { RsagenError } from "../errors.js";
import type { Transport } from "./transport.js";

export interface WebSerialAdapterOptions {
  /** USB identity reported by getInfo(); defaults to the Transport's own. */
  usb?: { vid: number; pid: number };
  /** Leave the Transport open when esptool-js closes the port (e.g. to talk to the app next). */
  keepTransportOpen?: boolean;
  /** Wraps each write of the `writable` stream, e.g. to bound how long it may take. */
  boundWrite?: (write: Promise<void>, bytes: number) => Promise<void>;
}

interface Current<S> {
  stream: S;
  controller: ReadableStreamDefaultController<Uint8Array> | undefined;
}

export class WebSerialAdapter {
  private isOpen = false;
  private reading: Current<ReadableStream<Uint8Array>> | undefined;
  private writing: WritableStream<Uint8Array> | undefined;
  private pending: Uint8Array[] = [];
  private readonly onData = (chunk: Uint8Array) => this.push(chunk);
  private readonly onClose = (lost: RsagenError | undefined) => this.transportClosed(lost);

  constructor(
    readonly transport: Transport,
    private readonly options: WebSerialAdapterOptions = {},
  ) {}

  getInfo(): SerialPortInfo {
    const usb = this.options.usb ?? this.transport.usb;
    return usb ? { usbVendorId: usb.vid, usbProductId: usb.pid } : {};
  }

  async open(options: { baudRate: number }): Promise<void> {
    if (this.isOpen) throw new RsagenError("E_INTERNAL", "port is already open", "close it first");
    if (!this.transport.isOpen) await this.transport.open();
    if (options.baudRate && options.baudRate !== this.transport.baud)
      await this.transport.setBaud(options.baudRate);
    this.pending = [];
    this.transport.on("data", this.onData);
    this.transport.on("close", this.onClose);
    this.isOpen = true;
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.detach();
    try {
      this.reading?.controller?.close();
    } catch {
      // already cancelled or errored
    }
    this.reading = undefined;
    this.writing = undefined;
    if (!this.options.keepTransportOpen) await this.transport.close();
  }

  get readable(): ReadableStream<Uint8Array> | null {
    if (!this.isOpen) return null;
    if (this.reading) return this.reading.stream;
    const current: Current<ReadableStream<Uint8Array>> = {
      stream: undefined as never,
      controller: undefined,
    };
    current.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        current.controller = controller;
        for (const chunk of this.pending.splice(0)) controller.enqueue(chunk);
      },
      cancel: () => {
        if (this.reading === current) this.reading = undefined;
      },
    });
    this.reading = current;
    return current.stream;
  }

  get writable(): WritableStream<Uint8Array> | null {
    if (!this.isOpen) return null;
    if (this.writing) return this.writing;
    const stream: WritableStream<Uint8Array> = new WritableStream<Uint8Array>({
      write: (chunk) => {
        const write = this.transport.write(chunk);
        return this.options.boundWrite ? this.options.boundWrite(write, chunk.length) : write;
      },
      close: () => {
        if (this.writing === stream) this.writing = undefined;
      },
      abort: () => {
        if (this.writing === stream) this.writing = undefined;
      },
    });
    this.writing = stream;
    return stream;
  }

  async setSignals(signals: SerialOutputSignals): Promise<void> {
    const change: { dtr?: boolean; rts?: boolean } = {};
    if (signals.dataTerminalReady !== undefined) change.dtr = signals.dataTerminalReady;
    if (signals.requestToSend !== undefined) change.rts = signals.requestToSend;
    // `break` is not used by esptool-js's resets; RFC 2217 and serialport could, but nothing needs it.
    await this.transport.setSignals(change);
  }

  async getSignals(): Promise<SerialInputSignals> {
    return { dataCarrierDetect: false, clearToSend: false, ringIndicator: false, dataSetReady: false };
  }

  async setBaudRate(baud: number): Promise<void> {
    await this.transport.setBaud(baud);
  }

  /** The object to pass where esptool-js wants a Web Serial `SerialPort`. */
  asSerialPort(): SerialPort {
    return this as unknown as SerialPort;
  }

  private push(chunk: Uint8Array): void {
    const controller = this.reading?.controller;
    if (controller) controller.enqueue(chunk);
    else this.pending.push(chunk);
  }

  private transportClosed(lost: RsagenError | undefined): void {
    this.detach();
    if (lost) this.reading?.controller?.error(lost);
    else {
      try {
        this.reading?.controller?.close();
      } catch {
        // already closed
      }
    }
    this.reading = undefined;
    this.writing = undefined;
  }

  private detach(): void {
    this.isOpen = false;
    this.transport.off("data", this.onData);
    this.transport.off("close", this.onClose);
  }
}
