/**
 * The one Transport every part of rsagen that talks to a board uses (esptool-js through the
 * Web-Serial adapter, the device protocol client, the monitor): the interface, its options and the
 * port-string syntax. The backends implement it and import it; the factory that picks a backend
 * (open-transport.ts) imports them, so this module imports none of them (no import cycle):
 *   - `rfc2217://host:port` -> RFC 2217 client over TCP (ser2net, esp_rfc2217_server, rsagen sim);
 *   - anything else        -> a local serial device through npm `serialport` (also pty slaves).
 *
 * Incoming data is delivered as 'data' events. Bytes that arrive while no 'data' listener is
 * attached are held and handed to the first listener, so nothing is lost between open() and
 * subscribing. A close the user did not ask for is a lost port: 'error' (only if someone listens)
 * and then 'close' carry an RsagenError E_PORT_LOST, and pending and later writes reject with it.
 */
import { z } from "zod";
import { RsagenError } from "../errors.js";

/** Which buffers purge() drops (RFC 2217 PURGE-DATA: 1 receive, 2 transmit, 3 both). */
export type PurgeTarget = "receive" | "transmit" | "both";

export type Parity = "none" | "odd" | "even" | "mark" | "space";
export type StopBits = 1 | 1.5 | 2;
export type DataBits = 5 | 6 | 7 | 8;

export interface LineFormat {
  dataBits: DataBits;
  parity: Parity;
  stopBits: StopBits;
}

/** Modem control lines. true = asserted. On the classic ESP auto-reset circuit RTS drives EN, DTR drives GPIO0. */
export interface Signals {
  dtr: boolean;
  rts: boolean;
}

export interface TransportCapabilities {
  kind: "serialport" | "rfc2217";
  /** DTR/RTS reach the other end (false on a pty: there is nothing to toggle EN/GPIO0 with). */
  hasResetLines: boolean;
  /** setBaud() changes the rate without closing the port. */
  inPlaceBaudChange: boolean;
  /** The port is behind a network connection. */
  remote: boolean;
}

export interface UsbIdentity {
  vid: number;
  pid: number;
}

export interface TransportEvents {
  data: [chunk: Uint8Array];
  /** Emitted once. `lost` is set (E_PORT_LOST) when the close was not requested through close(). */
  close: [lost: RsagenError | undefined];
  /** Emitted only when there is a listener; the same error then follows on 'close'. */
  error: [err: RsagenError];
}

export interface Transport {
  /** The port string it was created from (a device path or rfc2217://host:port). */
  readonly path: string;
  readonly capabilities: TransportCapabilities;
  readonly isOpen: boolean;
  readonly baud: number;
  /** Last DTR/RTS state set (or applied at open). */
  readonly signals: Readonly<Signals>;
  /** USB VID/PID of the bridge if known (from discovery or options); undefined for network ports. */
  readonly usb: UsbIdentity | undefined;

  open(): Promise<void>;
  close(): Promise<void>;
  /** Resolves when the bytes are handed to the OS/socket. */
  write(data: Uint8Array): Promise<void>;
  /** Merges with the remembered state and always drives both lines. */
  setSignals(signals: Partial<Signals>): Promise<void>;
  /** Changes the baud rate in place (the port stays open). */
  setBaud(baud: number): Promise<void>;
  /** Drops data buffered on the way (both directions by default). */
  purge(target?: PurgeTarget): Promise<void>;

  on<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this;
  once<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this;
  off<K extends keyof TransportEvents>(event: K, listener: (...args: TransportEvents[K]) => void): this;
}

export const transportOptionsSchema = z.object({
  baud: z.number().int().positive().max(0xffffffff).default(115200),
  format: z
    .object({
      dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
      parity: z.enum(["none", "odd", "even", "mark", "space"]).default("none"),
      stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1),
    })
    .default({ dataBits: 8, parity: "none", stopBits: 1 }),
  /** DTR/RTS driven at open. Default both released: on the auto-reset circuit the chip just runs. */
  signals: z.object({ dtr: z.boolean(), rts: z.boolean() }).default({ dtr: false, rts: false }),
  /** RFC 2217: how long to wait for the server to acknowledge a setting (pyserial uses 3 s). */
  ackTimeoutMs: z.number().int().positive().default(3000),
  /** RFC 2217: TCP connect + option negotiation limit. */
  connectTimeoutMs: z.number().int().positive().default(5000),
  usb: z.object({ vid: z.number().int(), pid: z.number().int() }).optional(),
});
export type TransportOptions = z.input<typeof transportOptionsSchema>;
export type ResolvedTransportOptions = z.output<typeof transportOptionsSchema>;

export type PortSpec =
  | { kind: "rfc2217"; host: string; port: number; ignSetControl: boolean }
  | { kind: "serialport"; path: string };

/**
 * Parses a --port value. `rfc2217://host:port` (IPv6 as [addr]), optionally with pyserial's
 * `?ign_set_control` (do not wait for answers to DTR/RTS commands: esptool's esp_rfc2217_server
 * never sends them, and Espressif's docs give its address in that form); anything else is a
 * device path.
 */
export function parsePortSpec(spec: string): PortSpec {
  const trimmed = spec.trim();
  if (trimmed === "")
    throw new RsagenError("E_USAGE", "empty port name", "pass --port /dev/ttyUSB0 or rfc2217://host:port");
  if (/^rfc2217:/i.test(trimmed)) {
    const m = /^rfc2217:\/\/(\[[^\]]+\]|[^:/[\]?]+):(\d{1,5})\/?(?:\?(ign_set_control))?$/i.exec(trimmed);
    const host = m?.[1];
    const port = m ? Number(m[2]) : Number.NaN;
    if (!host || port < 1 || port > 65535) {
      throw new RsagenError(
        "E_USAGE",
        `bad RFC 2217 port "${spec}"`,
        "write it as rfc2217://host:port (optionally ?ign_set_control), e.g. rfc2217://localhost:4000",
      );
    }
    return { kind: "rfc2217", host: host.replace(/^\[|\]$/g, ""), port, ignSetControl: m?.[3] !== undefined };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new RsagenError(
      "E_USAGE",
      `unsupported port URL "${spec}"`,
      "use a device path or rfc2217://host:port",
    );
  }
  return { kind: "serialport", path: trimmed };
}
