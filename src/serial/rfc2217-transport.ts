/**
 * RFC 2217 client backend (`rfc2217://host:port`): a Telnet connection with the COM-PORT-OPTION
 * (44) through which baud rate, data format, DTR/RTS and purges are sent to the remote port.
 *
 * Behaviour follows RFC 2217 and what esptool/pyserial's client and ser2net expect:
 * - on connect we send WILL/DO for BINARY (RFC 856), SUPPRESS-GO-AHEAD (RFC 858) and
 *   COM-PORT-OPTION, and wait until the server answers DO COM-PORT-OPTION (ser2net only
 *   acknowledges the client's side, so that is the one we require);
 * - settings are sent as IAC SB 44 <cmd> <value> IAC SE and each waits for the server's answer
 *   (<cmd>+100) with a timeout (pyserial's network timeout is 3 s);
 * - 0xFF in data is doubled both ways.
 */
import net from "node:net";
import { RsagenError } from "../errors.js";
import {
  CONTROL_DTR_OFF,
  CONTROL_DTR_ON,
  CONTROL_NO_FLOW,
  CONTROL_RTS_OFF,
  CONTROL_RTS_ON,
  CPO_FLOWCONTROL_RESUME,
  CPO_FLOWCONTROL_SUSPEND,
  CPO_NOTIFY_LINESTATE,
  CPO_NOTIFY_MODEMSTATE,
  CPO_PURGE_DATA,
  CPO_SET_BAUDRATE,
  CPO_SET_CONTROL,
  CPO_SET_DATASIZE,
  CPO_SET_PARITY,
  CPO_SET_STOPSIZE,
  CPO_SIGNATURE,
  decodeBaud,
  encodeBaud,
  encodeComPort,
  PURGE_CODES,
  type PurgeTarget,
  parityCode,
  SERVER_OFFSET,
  stopBitsCode,
} from "./rfc2217-protocol.js";
import {
  answerNegotiation,
  encodeNegotiation,
  escapeIac,
  type NegotiationVerb,
  OPT_BINARY,
  OPT_COM_PORT,
  OPT_ECHO,
  OPT_SGA,
  TelnetOptionState,
  TelnetParser,
} from "./telnet.js";
import {
  parsePortSpec,
  type ResolvedTransportOptions,
  type Signals,
  type TransportCapabilities,
} from "./transport.js";
import { signalOrder, TransportBase } from "./transport-base.js";

const COMMAND_NAMES: Record<number, string> = {
  [CPO_SET_BAUDRATE]: "SET-BAUDRATE",
  [CPO_SET_DATASIZE]: "SET-DATASIZE",
  [CPO_SET_PARITY]: "SET-PARITY",
  [CPO_SET_STOPSIZE]: "SET-STOPSIZE",
  [CPO_SET_CONTROL]: "SET-CONTROL",
  [CPO_PURGE_DATA]: "PURGE-DATA",
};

interface Waiter {
  resolve: (value: Uint8Array) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class Rfc2217Transport extends TransportBase {
  private resetLines = true;
  get capabilities(): TransportCapabilities {
    return { kind: "rfc2217", hasResetLines: this.resetLines, inPlaceBaudChange: true, remote: true };
  }
  /** Last NOTIFY-MODEMSTATE / NOTIFY-LINESTATE values from the server (RFC 2217 bit masks). */
  modemState: number | undefined;
  lineState: number | undefined;
  /** Server signature text, if it sent one. */
  serverSignature: string | undefined;

  private socket: net.Socket | undefined;
  private parser = new TelnetParser();
  private telnetOptions: TelnetOptionState[] = [];
  private waiters = new Map<number, Waiter[]>();
  private controlChain: Promise<unknown> = Promise.resolve();
  private negotiationChanged: (() => void) | undefined;
  private socketError: string | undefined;
  /** Text the server sent before the port was set up (a refusal such as "Port already in use"). */
  private setupText = "";

  /** `?ign_set_control`: DTR/RTS commands are sent without waiting for an answer (pyserial's option). */
  private readonly ignSetControl: boolean;

  constructor(
    path: string,
    private readonly host: string,
    private readonly port: number,
    options: ResolvedTransportOptions,
  ) {
    super(path, options);
    const spec = parsePortSpec(path);
    this.ignSetControl = spec.kind === "rfc2217" && spec.ignSetControl;
  }

  async open(): Promise<void> {
    if (this.opened) return;
    this.resetForOpen();
    const socket = await this.connect();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onSocketData(chunk));
    socket.on("error", (err) => {
      this.socketError = err.message;
    });
    socket.on("close", () => this.onSocketClose());
    try {
      await this.negotiate();
      this.opened = true;
      const { format } = this.options;
      const acks = await Promise.all([
        this.command(CPO_SET_BAUDRATE, encodeBaud(this.currentBaud)),
        this.command(CPO_SET_DATASIZE, Uint8Array.of(format.dataBits)),
        this.command(CPO_SET_PARITY, Uint8Array.of(parityCode(format.parity))),
        this.command(CPO_SET_STOPSIZE, Uint8Array.of(stopBitsCode(format.stopBits))),
      ]);
      this.checkBaudAck(acks[0], this.currentBaud);
      await this.command(CPO_SET_CONTROL, Uint8Array.of(CONTROL_NO_FLOW));
      // Drive both lines to the requested idle state, whatever the server had before.
      const target = this.options.signals;
      this.currentSignals = { dtr: !target.dtr, rts: !target.rts };
      await this.driveSignals(target);
    } catch (err) {
      this.opened = false;
      socket.destroy();
      throw err;
    }
  }

  private resetForOpen(): void {
    this.parser = new TelnetParser();
    this.waiters.clear();
    this.beginOpen();
    this.resetLines = true;
    this.socketError = undefined;
    this.setupText = "";
    // Options we offer and accept; everything else is refused.
    this.telnetOptions = [
      new TelnetOptionState(OPT_BINARY, "we", true),
      new TelnetOptionState(OPT_BINARY, "they", true),
      new TelnetOptionState(OPT_SGA, "we", true),
      new TelnetOptionState(OPT_SGA, "they", true),
      new TelnetOptionState(OPT_COM_PORT, "we", true),
      new TelnetOptionState(OPT_COM_PORT, "they", true),
      new TelnetOptionState(OPT_ECHO, "they", true),
    ];
  }

  private connect(): Promise<net.Socket> {
    const where = `rfc2217://${this.host}:${this.port}`;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: this.host, port: this.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new RsagenError(
            "E_NO_PORT",
            `cannot connect to ${where}: timed out after ${this.options.connectTimeoutMs} ms`,
            "check the host name, port and firewall of the RFC 2217 server",
          ),
        );
      }, this.options.connectTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(socket);
      });
      socket.once("error", (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(connectError(where, err));
      });
    });
  }

  /** Sends our option requests and waits for the server's DO COM-PORT-OPTION. */
  private negotiate(): Promise<void> {
    const where = `rfc2217://${this.host}:${this.port}`;
    const comPort = this.telnetOptions.find((o) => o.option === OPT_COM_PORT && o.side === "we")!;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.negotiationChanged = undefined;
        reject(
          new RsagenError(
            "E_NO_PORT",
            `${where} did not negotiate the RFC 2217 COM-PORT-OPTION within ${this.options.connectTimeoutMs} ms`,
            "is this an RFC 2217 server? ser2net needs a telnet(rfc2217) accepter (or 'remctl' in old configs); esp_rfc2217_server queues a second client silently until the first disconnects",
          ),
        );
      }, this.options.connectTimeoutMs);
      this.negotiationChanged = () => {
        if (comPort.enabled) {
          clearTimeout(timer);
          this.negotiationChanged = undefined;
          resolve();
        } else if (comPort.rejected || this.socket?.destroyed) {
          clearTimeout(timer);
          this.negotiationChanged = undefined;
          reject(
            this.busyError() ??
              new RsagenError(
                "E_NO_PORT",
                `${where} refused the RFC 2217 COM-PORT-OPTION`,
                "the server is a plain telnet/raw port; enable RFC 2217 on it (ser2net: telnet(rfc2217))",
              ),
          );
        }
      };
      const requests: Uint8Array[] = [];
      for (const o of this.telnetOptions) {
        if (o.option === OPT_ECHO) continue;
        const verb = o.request();
        if (verb !== null) requests.push(encodeNegotiation(verb, o.option));
      }
      this.socket!.write(Buffer.concat(requests));
    });
  }

  private onSocketData(chunk: Buffer): void {
    for (const ev of this.parser.feed(chunk)) {
      switch (ev.kind) {
        case "data":
          if (!this.opened && this.setupText.length < 512)
            this.setupText += Buffer.from(ev.bytes).toString("latin1");
          this.deliver(ev.bytes);
          break;
        case "negotiate":
          this.onNegotiate(ev.verb, ev.option);
          break;
        case "subnegotiation":
          if (ev.option === OPT_COM_PORT) this.onComPort(ev.payload);
          break;
        case "command":
          break;
      }
    }
  }

  private onNegotiate(verb: NegotiationVerb, option: number): void {
    const { state, reply } = answerNegotiation(this.telnetOptions, verb, option);
    if (reply !== null) this.socket?.write(reply);
    if (state) this.negotiationChanged?.();
  }

  private onComPort(payload: Uint8Array): void {
    const code = payload[0];
    if (code === undefined) return;
    const value = payload.subarray(1);
    if (code === CPO_SIGNATURE) {
      // The server asks for our signature (RFC 2217 SIGNATURE with no text).
      const text = new TextEncoder().encode("rsagen");
      this.socket?.write(encodeComPort(CPO_SIGNATURE, text));
      return;
    }
    if (code < SERVER_OFFSET) return;
    const cmd = code - SERVER_OFFSET;
    if (cmd === CPO_SIGNATURE) this.serverSignature = new TextDecoder().decode(value);
    else if (cmd === CPO_NOTIFY_MODEMSTATE) this.modemState = value[0];
    else if (cmd === CPO_NOTIFY_LINESTATE) this.lineState = value[0];
    else if (cmd === CPO_FLOWCONTROL_SUSPEND || cmd === CPO_FLOWCONTROL_RESUME) return;
    else this.waiters.get(cmd)?.shift()?.resolve(value);
  }

  private onSocketClose(): void {
    const requested = this.closing;
    const wasOpen = this.opened;
    this.finish(requested, this.socketError ?? "the server closed the connection");
    const err =
      this.lost ??
      (requested ? undefined : this.busyError()) ??
      new RsagenError(
        requested ? "E_INTERNAL" : "E_NO_PORT",
        requested
          ? `${this.path}: port closed`
          : `${this.path}: the server closed the connection during setup`,
        "check the RFC 2217 server's log; it may accept one client at a time",
      );
    for (const queue of this.waiters.values()) {
      for (const w of queue) {
        clearTimeout(w.timer);
        w.reject(err);
      }
    }
    this.waiters.clear();
    if (!wasOpen) this.negotiationChanged?.();
  }

  /**
   * The server refused us because another client is connected: ser2net and rsagen sim answer
   * "Port already in use" (ser2net 4.x's text) and close before any negotiation.
   */
  private busyError(): RsagenError | undefined {
    const line = /[^\r\n]*\bin use\b[^\r\n]*/i.exec(this.setupText)?.[0]?.trim();
    if (!line) return undefined;
    return new RsagenError(
      "E_PORT_BUSY",
      `rfc2217://${this.host}:${this.port} is in use by another client (the server answered "${line}")`,
      "wait for the other session (rsagen, esptool, a serial monitor) to finish, or stop it; the server serves one client at a time",
    );
  }

  /** Sends one COM-PORT-OPTION command and resolves with the server's answer value. */
  private command(cmd: number, value: Uint8Array): Promise<Uint8Array> {
    const socket = this.socket;
    if (!socket || socket.destroyed)
      return Promise.reject(this.lost ?? new RsagenError("E_PORT_LOST", `${this.path}: not connected`));
    return new Promise((resolve, reject) => {
      const queue = this.waiters.get(cmd) ?? [];
      this.waiters.set(cmd, queue);
      const waiter: Waiter = {
        resolve: (v) => {
          clearTimeout(waiter.timer);
          resolve(v);
        },
        reject,
        timer: setTimeout(() => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(
            new RsagenError(
              "E_IO",
              `${this.path}: RFC 2217 server did not acknowledge ${COMMAND_NAMES[cmd] ?? `command ${cmd}`} within ${this.options.ackTimeoutMs} ms`,
              "the server may not implement RFC 2217 fully; check its configuration and log",
            ),
          );
        }, this.options.ackTimeoutMs),
      };
      queue.push(waiter);
      socket.write(encodeComPort(cmd, value));
    });
  }

  private checkBaudAck(ack: Uint8Array, requested: number): void {
    const got = decodeBaud(ack);
    if (got !== undefined && got !== requested) {
      throw new RsagenError(
        "E_IO",
        `${this.path}: server set ${got} baud instead of ${requested}`,
        "choose a baud rate the remote serial port supports",
      );
    }
    this.currentBaud = requested;
  }

  async write(data: Uint8Array): Promise<void> {
    this.assertUsable();
    const socket = this.socket!;
    const bytes = escapeIac(data);
    await new Promise<void>((resolve, reject) => {
      socket.write(bytes, (err) => {
        if (err)
          reject(this.lost ?? new RsagenError("E_PORT_LOST", `${this.path}: write failed: ${err.message}`));
        else resolve();
      });
    });
  }

  async setSignals(signals: Partial<Signals>): Promise<void> {
    this.assertUsable();
    return this.serialized(() => this.driveSignals({ ...this.currentSignals, ...signals }));
  }

  /**
   * One SET-CONTROL per line, each acknowledged before the next (the board sees their order).
   * ser2net does not answer DTR/RTS commands when the line ioctl fails on its device (a pty):
   * an unanswered line command means the remote port has no reset lines, as on a local pty.
   * With `?ign_set_control` the commands go out in order without waiting: esptool's
   * esp_rfc2217_server acts on them (it runs the reset locally) but never answers them.
   */
  private async driveSignals(target: Signals): Promise<void> {
    for (const line of signalOrder(this.currentSignals, target)) {
      const on = target[line];
      const code =
        line === "dtr" ? (on ? CONTROL_DTR_ON : CONTROL_DTR_OFF) : on ? CONTROL_RTS_ON : CONTROL_RTS_OFF;
      if (this.ignSetControl) {
        const socket = this.socket;
        if (!socket || socket.destroyed)
          throw this.lost ?? new RsagenError("E_PORT_LOST", `${this.path}: not connected`);
        socket.write(encodeComPort(CPO_SET_CONTROL, Uint8Array.of(code)));
      } else if (this.resetLines) {
        try {
          await this.command(CPO_SET_CONTROL, Uint8Array.of(code));
        } catch (err) {
          if (!(err instanceof RsagenError && err.code === "E_IO")) throw err;
          this.resetLines = false;
        }
      }
      this.currentSignals = { ...this.currentSignals, [line]: on };
    }
  }

  async setBaud(baud: number): Promise<void> {
    this.assertUsable();
    if (!Number.isInteger(baud) || baud <= 0 || baud > 0xffffffff) {
      throw new RsagenError("E_USAGE", `invalid baud rate ${baud}`, "use a positive integer like 115200");
    }
    return this.serialized(async () => {
      const ack = await this.command(CPO_SET_BAUDRATE, encodeBaud(baud));
      this.checkBaudAck(ack, baud);
    });
  }

  async purge(target: PurgeTarget = "both"): Promise<void> {
    this.assertUsable();
    return this.serialized(async () => {
      await this.command(CPO_PURGE_DATA, Uint8Array.of(PURGE_CODES[target]));
    });
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.controlChain.then(fn, fn);
    this.controlChain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!this.opened || !socket || this.closing) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), 1000);
      socket.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }
}

function connectError(where: string, err: NodeJS.ErrnoException): RsagenError {
  const hint = "start the server first (rsagen sim, ser2net, esp_rfc2217_server) and check host and port";
  switch (err.code) {
    case "ECONNREFUSED":
      return new RsagenError("E_NO_PORT", `cannot connect to ${where}: connection refused`, hint, {
        cause: err,
      });
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new RsagenError("E_NO_PORT", `cannot connect to ${where}: unknown host`, "check the host name", {
        cause: err,
      });
    default:
      return new RsagenError("E_NO_PORT", `cannot connect to ${where}: ${err.message}`, hint, { cause: err });
  }
}
