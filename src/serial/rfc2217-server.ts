/**
 * RFC 2217 server for the virtual board: what esptool's esp_rfc2217_server or ser2net are for a
 * real board. The board listens to its events (bytes from the client, baud/format changes, DTR/RTS
 * changes with timestamps, purges, break) and writes its UART output back with write().
 *
 * Policy: one client at a time. While a client is connected, a new connection is refused the way
 * ser2net refuses one (ser2net 4.x sends its text "Port already in use\r\n" and closes): the
 * newcomer gets that line, no Telnet negotiation, and the server closes its side; the connected
 * client and its job are not touched. rsagen's client turns the line into E_PORT_BUSY; pyserial
 * (esptool) fails its open for want of negotiation. A client counts as gone as soon as it
 * half-closes (FIN), so a reconnect right after a clean close is never refused.
 *
 * Telnet side as pyserial's PortManager (used by esp_rfc2217_server) does it: the server offers
 * WILL BINARY, DO BINARY, WILL SGA, WILL COM-PORT-OPTION, accepts the client's WILL/DO for those,
 * answers each COM-PORT-OPTION command C with C+100 and the value now in effect (RFC 2217 §3;
 * value 0 asks for the current setting), and sends one NOTIFY-MODEMSTATE once the client has
 * agreed to RFC 2217.
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { RsagenError } from "../errors.js";
import {
  CONTROL_BREAK_OFF,
  CONTROL_BREAK_ON,
  CONTROL_DTR_OFF,
  CONTROL_DTR_ON,
  CONTROL_NO_FLOW,
  CONTROL_REQUEST_BREAK,
  CONTROL_REQUEST_DTR,
  CONTROL_REQUEST_FLOW,
  CONTROL_REQUEST_RTS,
  CONTROL_RTS_OFF,
  CONTROL_RTS_ON,
  CPO_NOTIFY_MODEMSTATE,
  CPO_PURGE_DATA,
  CPO_SET_BAUDRATE,
  CPO_SET_CONTROL,
  CPO_SET_DATASIZE,
  CPO_SET_LINESTATE_MASK,
  CPO_SET_MODEMSTATE_MASK,
  CPO_SET_PARITY,
  CPO_SET_STOPSIZE,
  CPO_SIGNATURE,
  DEFAULT_FORMAT,
  decodeBaud,
  encodeBaud,
  encodeComPort,
  type PurgeTarget,
  parityCode,
  parityOf,
  purgeTargetOf,
  SERVER_OFFSET,
  stopBitsCode,
  stopBitsOf,
} from "./rfc2217-protocol.js";
import {
  answerNegotiation,
  encodeNegotiation,
  escapeIac,
  type NegotiationVerb,
  OPT_BINARY,
  OPT_COM_PORT,
  OPT_SGA,
  TelnetOptionState,
  TelnetParser,
} from "./telnet.js";
import type { DataBits, LineFormat, Signals } from "./transport.js";
import { signalOrder } from "./transport-base.js";

export interface Rfc2217ServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port; read it back from `port`). */
  port?: number;
  /** Line state before any client sets it (and after a client leaves: its lines are released). */
  initial?: { baud?: number; format?: LineFormat; signals?: Signals };
  /**
   * Deliver write() bytes at the current baud rate (baud/10 bytes per second, 8N1 framing)
   * instead of at socket speed.
   */
  pacing?: boolean;
  /** Text sent in answer to a SIGNATURE request. */
  signature?: string;
}

export interface SignalChange extends Signals {
  /** The line that changed. */
  line: "dtr" | "rts";
  /** performance.now() in ms when the server applied it (before acknowledging it). */
  at: number;
}

/** The line a refused connection receives (ser2net's text, so tools that know ser2net know it). */
export const PORT_IN_USE_TEXT = "Port already in use\r\n";

export interface Rfc2217ServerEvents {
  connect: [client: { address: string; port: number }];
  /** A connection refused because another client is connected (`holder`). */
  refused: [client: { address: string; port: number }, holder: { address: string; port: number }];
  disconnect: [];
  /** Bytes the client sent to the serial port (IAC doubling already removed). */
  data: [bytes: Uint8Array];
  baud: [baud: number];
  format: [format: LineFormat];
  signals: [change: SignalChange];
  purge: [target: PurgeTarget];
  break: [on: boolean];
}

/** Modem state reported to clients: CD | DSR | CTS asserted (RFC 2217 NOTIFY-MODEMSTATE bits). */
const MODEM_STATE = 0x80 | 0x20 | 0x10;

interface PacedWrite {
  bytes: Uint8Array;
  offset: number;
  done: (delivered: boolean) => void;
}

export class Rfc2217Server extends EventEmitter<Rfc2217ServerEvents> {
  private client: ClientConnection | undefined;
  private currentBaud: number;
  private currentFormat: LineFormat;
  private currentSignals: Signals;
  private breakOn = false;
  private readonly initialSignals: Signals;
  private pacedQueue: PacedWrite[] = [];
  private paceTimer: NodeJS.Timeout | undefined;
  private paceStart = 0;
  private paceSent = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly options: Rfc2217ServerOptions,
  ) {
    super();
    this.currentBaud = options.initial?.baud ?? 115200;
    this.currentFormat = { ...(options.initial?.format ?? DEFAULT_FORMAT) };
    this.initialSignals = { ...(options.initial?.signals ?? { dtr: false, rts: false }) };
    this.currentSignals = { ...this.initialSignals };
    server.on("connection", (socket) => this.accept(socket));
  }

  /** Starts listening; resolves once the port is bound. */
  static listen(options: Rfc2217ServerOptions = {}): Promise<Rfc2217Server> {
    const host = options.host ?? "127.0.0.1";
    const server = net.createServer();
    const instance = new Rfc2217Server(server, options);
    return new Promise((resolve, reject) => {
      server.once("error", (err: NodeJS.ErrnoException) => {
        reject(
          new RsagenError(
            err.code === "EADDRINUSE" ? "E_USAGE" : "E_SIM",
            `cannot listen on ${host}:${options.port ?? 0}: ${err.message}`,
            err.code === "EADDRINUSE" ? "choose another port, or 0 for any free port" : "check the address",
            { cause: err },
          ),
        );
      });
      server.listen(options.port ?? 0, host, () => resolve(instance));
    });
  }

  get host(): string {
    const a = this.server.address();
    return a && typeof a === "object" ? a.address : "127.0.0.1";
  }
  get port(): number {
    const a = this.server.address();
    return a && typeof a === "object" ? a.port : 0;
  }
  /** The port string a client passes (--port). */
  get url(): string {
    const h = this.host.includes(":") ? `[${this.host}]` : this.host;
    return `rfc2217://${h}:${this.port}`;
  }
  get baud(): number {
    return this.currentBaud;
  }
  get format(): LineFormat {
    return { ...this.currentFormat };
  }
  get signals(): Signals {
    return { ...this.currentSignals };
  }
  get hasClient(): boolean {
    return this.client !== undefined;
  }

  /**
   * Sends bytes from the board's UART to the client. Resolves true when they were handed to the
   * socket, false when dropped (no client, client left, or purged): a UART with nothing attached
   * loses what it sends.
   */
  write(bytes: Uint8Array): Promise<boolean> {
    const client = this.client;
    if (!client || bytes.length === 0) return Promise.resolve(client !== undefined);
    if (!this.options.pacing) return client.send(escapeIac(bytes));
    return new Promise((resolve) => {
      this.pacedQueue.push({ bytes, offset: 0, done: resolve });
      if (!this.paceTimer) {
        this.paceStart = performance.now();
        this.paceSent = 0;
        this.paceTimer = setTimeout(() => this.pump(), 2);
      }
    });
  }

  /** Sends what the elapsed time allows at baud/10 bytes per second. */
  private pump(): void {
    this.paceTimer = undefined;
    const client = this.client;
    const allowed =
      Math.floor(((performance.now() - this.paceStart) * this.currentBaud) / 10_000) - this.paceSent;
    let budget = allowed;
    while (budget > 0 && client) {
      const head = this.pacedQueue[0];
      if (!head) break;
      const n = Math.min(budget, head.bytes.length - head.offset);
      void client.send(escapeIac(head.bytes.subarray(head.offset, head.offset + n)));
      head.offset += n;
      budget -= n;
      this.paceSent += n;
      if (head.offset === head.bytes.length) {
        this.pacedQueue.shift();
        head.done(true);
      }
    }
    if (this.pacedQueue.length > 0 && client) this.paceTimer = setTimeout(() => this.pump(), 4);
  }

  private dropPaced(): void {
    if (this.paceTimer) clearTimeout(this.paceTimer);
    this.paceTimer = undefined;
    for (const w of this.pacedQueue.splice(0)) w.done(false);
  }

  /** Stops listening and drops the client. */
  async close(): Promise<void> {
    this.dropPaced();
    this.client?.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Closes the current client's connection (as if the server side went away). */
  dropClient(): void {
    this.client?.socket.destroy();
  }

  private accept(socket: net.Socket): void {
    socket.on("error", () => undefined);
    const current = this.client;
    if (current) {
      this.refuse(socket, current);
      return;
    }
    const conn = new ClientConnection(socket, this);
    this.client = conn;
    socket.on("end", () => this.clientGone(conn));
    socket.on("close", () => this.clientGone(conn));
    this.emit("connect", peerOf(socket));
    conn.start();
  }

  /** Answers a second client with ser2net's "Port already in use" line and closes it. */
  private refuse(socket: net.Socket, current: ClientConnection): void {
    this.emit("refused", peerOf(socket), peerOf(current.socket));
    socket.end(PORT_IN_USE_TEXT);
    // A peer that never closes its side is cut off rather than kept half-open.
    const timer = setTimeout(() => socket.destroy(), 2000);
    timer.unref();
    socket.on("close", () => clearTimeout(timer));
    socket.resume(); // whatever it sends is discarded
  }

  private clientGone(conn: ClientConnection): void {
    if (this.client !== conn) return;
    this.client = undefined;
    this.dropPaced();
    this.emit("disconnect");
    // A client that leaves releases its lines, as closing a tty does (HUPCL).
    this.applySignals(this.initialSignals);
  }

  // ---- called by ClientConnection ----

  /** @internal */ handleData(bytes: Uint8Array): void {
    this.emit("data", bytes);
  }

  /** @internal */ handleComPort(conn: ClientConnection, payload: Uint8Array): void {
    const cmd = payload[0];
    if (cmd === undefined) return;
    const value = payload.subarray(1);
    const reply = (v: Uint8Array) => void conn.send(encodeComPort(cmd + SERVER_OFFSET, v));
    switch (cmd) {
      case CPO_SIGNATURE:
        if (value.length === 0)
          reply(new TextEncoder().encode(this.options.signature ?? "rsagen virtual board"));
        break;
      case CPO_SET_BAUDRATE: {
        const baud = decodeBaud(value) ?? 0;
        if (baud !== 0 && baud !== this.currentBaud) {
          this.currentBaud = baud;
          this.paceStart = performance.now();
          this.paceSent = 0;
          this.emit("baud", baud);
        }
        reply(encodeBaud(this.currentBaud));
        break;
      }
      case CPO_SET_DATASIZE: {
        const v = value[0] ?? 0;
        if (v >= 5 && v <= 8) this.setFormat({ dataBits: v as DataBits });
        reply(Uint8Array.of(this.currentFormat.dataBits));
        break;
      }
      case CPO_SET_PARITY: {
        const p = parityOf(value[0] ?? 0);
        if (p) this.setFormat({ parity: p });
        reply(Uint8Array.of(parityCode(this.currentFormat.parity)));
        break;
      }
      case CPO_SET_STOPSIZE: {
        const s = stopBitsOf(value[0] ?? 0);
        if (s) this.setFormat({ stopBits: s });
        reply(Uint8Array.of(stopBitsCode(this.currentFormat.stopBits)));
        break;
      }
      case CPO_SET_CONTROL:
        reply(Uint8Array.of(this.control(value[0] ?? CONTROL_REQUEST_FLOW)));
        break;
      case CPO_SET_LINESTATE_MASK:
      case CPO_SET_MODEMSTATE_MASK:
        reply(value.subarray(0, 1));
        break;
      case CPO_PURGE_DATA: {
        const target = purgeTargetOf(value[0] ?? 0);
        if (target) {
          if (target !== "transmit") this.dropPaced();
          this.emit("purge", target);
        }
        reply(value.subarray(0, 1));
        break;
      }
      default:
        // NOTIFY-* come from servers, FLOWCONTROL-SUSPEND/RESUME have no answer: ignore.
        break;
    }
  }

  /** @internal */ clientAgreed(conn: ClientConnection): void {
    void conn.send(encodeComPort(CPO_NOTIFY_MODEMSTATE + SERVER_OFFSET, Uint8Array.of(MODEM_STATE)));
  }

  private setFormat(change: Partial<LineFormat>): void {
    const next = { ...this.currentFormat, ...change };
    const changed =
      next.dataBits !== this.currentFormat.dataBits ||
      next.parity !== this.currentFormat.parity ||
      next.stopBits !== this.currentFormat.stopBits;
    this.currentFormat = next;
    if (changed) this.emit("format", { ...next });
  }

  /** Applies one SET-CONTROL value and returns the value for the answer. */
  private control(code: number): number {
    switch (code) {
      case CONTROL_DTR_ON:
      case CONTROL_DTR_OFF:
        this.setLine("dtr", code === CONTROL_DTR_ON);
        return code;
      case CONTROL_RTS_ON:
      case CONTROL_RTS_OFF:
        this.setLine("rts", code === CONTROL_RTS_ON);
        return code;
      case CONTROL_REQUEST_DTR:
        return this.currentSignals.dtr ? CONTROL_DTR_ON : CONTROL_DTR_OFF;
      case CONTROL_REQUEST_RTS:
        return this.currentSignals.rts ? CONTROL_RTS_ON : CONTROL_RTS_OFF;
      case CONTROL_BREAK_ON:
      case CONTROL_BREAK_OFF: {
        const on = code === CONTROL_BREAK_ON;
        if (on !== this.breakOn) {
          this.breakOn = on;
          this.emit("break", on);
        }
        return code;
      }
      case CONTROL_REQUEST_BREAK:
        return this.breakOn ? CONTROL_BREAK_ON : CONTROL_BREAK_OFF;
      case CONTROL_REQUEST_FLOW:
        return CONTROL_NO_FLOW;
      default:
        // Flow-control choices (1-3, 13-19): a virtual UART has no flow control to switch; echo.
        return code;
    }
  }

  private setLine(line: "dtr" | "rts", on: boolean): void {
    if (this.currentSignals[line] === on) return;
    this.currentSignals = { ...this.currentSignals, [line]: on };
    this.emit("signals", { ...this.currentSignals, line, at: performance.now() });
  }

  private applySignals(target: Signals): void {
    for (const line of signalOrder(this.currentSignals, target)) this.setLine(line, target[line]);
  }
}

function peerOf(socket: net.Socket): { address: string; port: number } {
  return { address: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 };
}

/** One client's Telnet state. */
class ClientConnection {
  private parser = new TelnetParser();
  private agreed = false;
  private readonly telnetOptions = [
    new TelnetOptionState(OPT_BINARY, "we", true),
    new TelnetOptionState(OPT_BINARY, "they", true),
    new TelnetOptionState(OPT_SGA, "we", true),
    new TelnetOptionState(OPT_SGA, "they", true),
    new TelnetOptionState(OPT_COM_PORT, "we", true),
    new TelnetOptionState(OPT_COM_PORT, "they", true),
  ];

  constructor(
    readonly socket: net.Socket,
    private readonly server: Rfc2217Server,
  ) {
    socket.setNoDelay(true);
  }

  start(): void {
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    const offers: Array<[number, "we" | "they"]> = [
      [OPT_BINARY, "we"],
      [OPT_BINARY, "they"],
      [OPT_SGA, "we"],
      [OPT_COM_PORT, "we"],
    ];
    for (const [option, side] of offers) {
      const verb = this.telnetOptions.find((o) => o.option === option && o.side === side)!.request();
      if (verb !== null) void this.send(encodeNegotiation(verb, option));
    }
  }

  send(bytes: Uint8Array): Promise<boolean> {
    if (this.socket.destroyed || !this.socket.writable) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(bytes, (err) => resolve(!err)));
  }

  private onData(chunk: Buffer): void {
    for (const ev of this.parser.feed(chunk)) {
      if (ev.kind === "data") this.server.handleData(ev.bytes);
      else if (ev.kind === "negotiate") this.onNegotiate(ev.verb, ev.option);
      else if (ev.kind === "subnegotiation" && ev.option === OPT_COM_PORT)
        this.server.handleComPort(this, ev.payload);
    }
  }

  private onNegotiate(verb: NegotiationVerb, option: number): void {
    const { state, reply } = answerNegotiation(this.telnetOptions, verb, option);
    if (reply !== null) void this.send(reply);
    if (option === OPT_COM_PORT && state?.enabled && !this.agreed) {
      this.agreed = true;
      this.server.clientAgreed(this);
    }
  }
}
