/**
 * Behaviour shared by the Transport backends: event plumbing with hold-until-subscribed data,
 * lost-port reporting, and the order in which two control lines are driven.
 */
import { EventEmitter } from "node:events";
import { RsagenError } from "../errors.js";
import type {
  PurgeTarget,
  ResolvedTransportOptions,
  Signals,
  Transport,
  TransportCapabilities,
  TransportEvents,
  UsbIdentity,
} from "./transport.js";

export abstract class TransportBase extends EventEmitter<TransportEvents> implements Transport {
  abstract readonly capabilities: TransportCapabilities;
  protected opened = false;
  protected closing = false;
  protected lost: RsagenError | undefined;
  protected currentBaud: number;
  protected currentSignals: Signals;
  private held: Uint8Array[] = [];
  private closeEmitted = false;

  constructor(
    readonly path: string,
    protected readonly options: ResolvedTransportOptions,
  ) {
    super();
    this.currentBaud = options.baud;
    this.currentSignals = { ...options.signals };
    // 'newListener' is not in the typed event map; it fires just before a listener is added.
    (this as unknown as EventEmitter).on("newListener", (event: string | symbol) => {
      if (event === "data" && this.held.length > 0) queueMicrotask(() => this.releaseHeld());
    });
  }

  get isOpen(): boolean {
    return this.opened && !this.closing && this.lost === undefined;
  }
  get baud(): number {
    return this.currentBaud;
  }
  get signals(): Readonly<Signals> {
    return { ...this.currentSignals };
  }
  get usb(): UsbIdentity | undefined {
    return this.options.usb;
  }

  abstract open(): Promise<void>;
  abstract close(): Promise<void>;
  abstract write(data: Uint8Array): Promise<void>;
  abstract setSignals(signals: Partial<Signals>): Promise<void>;
  abstract setBaud(baud: number): Promise<void>;
  abstract purge(target?: PurgeTarget): Promise<void>;

  /** Resets per-connection state so a closed transport can be opened again. */
  protected beginOpen(): void {
    this.closeEmitted = false;
    this.lost = undefined;
    this.closing = false;
  }

  /** Hands received bytes to listeners, or holds them until the first 'data' listener. */
  protected deliver(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.listenerCount("data") === 0 || this.held.length > 0) {
      this.held.push(chunk);
      return;
    }
    this.emit("data", chunk);
  }

  private releaseHeld(): void {
    while (this.held.length > 0 && this.listenerCount("data") > 0) {
      const chunk = this.held.shift()!;
      this.emit("data", chunk);
    }
  }

  /** Throws if the port cannot be used right now (never opened, closed, or lost). */
  protected assertUsable(): void {
    if (this.lost) throw this.lost;
    if (!this.opened || this.closing) {
      throw new RsagenError(
        "E_INTERNAL",
        `${this.path}: port is not open`,
        "open the transport before using it",
      );
    }
  }

  /** Records the end of the connection; an unrequested end is reported as E_PORT_LOST. */
  protected finish(requested: boolean, reason?: string): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    const wasOpen = this.opened;
    this.opened = false;
    if (!requested && wasOpen) {
      this.lost = new RsagenError(
        "E_PORT_LOST",
        `${this.path}: connection to the board lost${reason ? ` (${reason})` : ""}`,
        this.capabilities.remote
          ? "check that the RFC 2217 server (ser2net, rsagen sim, esp_rfc2217_server) is still running"
          : "check the USB cable; the port disappears when the board is unplugged or re-enumerates",
      );
      if (this.listenerCount("error") > 0) this.emit("error", this.lost);
    }
    this.emit("close", this.lost);
  }
}

/**
 * The order in which to drive DTR and RTS when both are sent one after the other (RFC 2217 sends
 * one SET-CONTROL per line). esptool's ClassicReset drives DTR before RTS; we keep that order unless
 * the state between the two steps would be DTR=0/RTS=1, which on the auto-reset circuit pulls EN
 * low and resets the chip by accident (e.g. going from both asserted to both released).
 */
export function signalOrder(from: Signals, to: Signals): Array<"dtr" | "rts"> {
  const dtrFirst = { dtr: to.dtr, rts: from.rts };
  const resetsChip = !dtrFirst.dtr && dtrFirst.rts && !(from.rts && !from.dtr) && !(to.rts && !to.dtr);
  return resetsChip ? ["rts", "dtr"] : ["dtr", "rts"];
}
