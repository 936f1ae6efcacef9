/**
 * RFC 2217 ("Telnet Com Port Control Option", Oct 1997) codes, and the value encodings both the
 * client and the server use. The server answers a client command C with C + 100 (RFC 2217 §3).
 */
import { encodeSubnegotiation, OPT_COM_PORT } from "./telnet.js";
import type { LineFormat, Parity, PurgeTarget, StopBits } from "./transport.js";

export type { PurgeTarget } from "./transport.js";

export const CPO_SIGNATURE = 0;
export const CPO_SET_BAUDRATE = 1;
export const CPO_SET_DATASIZE = 2;
export const CPO_SET_PARITY = 3;
export const CPO_SET_STOPSIZE = 4;
export const CPO_SET_CONTROL = 5;
export const CPO_NOTIFY_LINESTATE = 6;
export const CPO_NOTIFY_MODEMSTATE = 7;
export const CPO_FLOWCONTROL_SUSPEND = 8;
export const CPO_FLOWCONTROL_RESUME = 9;
export const CPO_SET_LINESTATE_MASK = 10;
export const CPO_SET_MODEMSTATE_MASK = 11;
export const CPO_PURGE_DATA = 12;

/** Server-to-client code for a client command (RFC 2217 §3: "command + 100"). */
export const SERVER_OFFSET = 100;

/** One COM-PORT-OPTION message: IAC SB 44 <code> <value, IAC doubled> IAC SE (RFC 2217 §3). */
export function encodeComPort(code: number, value: Uint8Array): Uint8Array {
  const payload = new Uint8Array(value.length + 1);
  payload[0] = code;
  payload.set(value, 1);
  return encodeSubnegotiation(OPT_COM_PORT, payload);
}

// SET-CONTROL values (RFC 2217, "SET-CONTROL").
export const CONTROL_REQUEST_FLOW = 0;
export const CONTROL_NO_FLOW = 1;
export const CONTROL_XONXOFF_FLOW = 2;
export const CONTROL_HARDWARE_FLOW = 3;
export const CONTROL_REQUEST_BREAK = 4;
export const CONTROL_BREAK_ON = 5;
export const CONTROL_BREAK_OFF = 6;
export const CONTROL_REQUEST_DTR = 7;
export const CONTROL_DTR_ON = 8;
export const CONTROL_DTR_OFF = 9;
export const CONTROL_REQUEST_RTS = 10;
export const CONTROL_RTS_ON = 11;
export const CONTROL_RTS_OFF = 12;

// PURGE-DATA values: 1 = access server receive buffer (serial -> network), 2 = transmit buffer
// (network -> serial), 3 = both.
export const PURGE_CODES: Record<PurgeTarget, number> = { receive: 1, transmit: 2, both: 3 };
export function purgeTargetOf(code: number): PurgeTarget | undefined {
  return code === 1 ? "receive" : code === 2 ? "transmit" : code === 3 ? "both" : undefined;
}

// SET-PARITY: 1 NONE, 2 ODD, 3 EVEN, 4 MARK, 5 SPACE (0 = request current value).
const PARITY_CODES: Record<Parity, number> = { none: 1, odd: 2, even: 3, mark: 4, space: 5 };
export function parityCode(p: Parity): number {
  return PARITY_CODES[p];
}
export function parityOf(code: number): Parity | undefined {
  return (Object.keys(PARITY_CODES) as Parity[]).find((k) => PARITY_CODES[k] === code);
}

// SET-STOPSIZE: 1 = 1 bit, 2 = 2 bits, 3 = 1.5 bits (0 = request current value).
export function stopBitsCode(s: StopBits): number {
  return s === 1 ? 1 : s === 2 ? 2 : 3;
}
export function stopBitsOf(code: number): StopBits | undefined {
  return code === 1 ? 1 : code === 2 ? 2 : code === 3 ? 1.5 : undefined;
}

/** SET-BAUDRATE carries the rate as 4 bytes, network byte order (RFC 2217). */
export function encodeBaud(baud: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, baud >>> 0, false);
  return out;
}
export function decodeBaud(value: Uint8Array): number | undefined {
  if (value.length < 4) return undefined;
  return new DataView(value.buffer, value.byteOffset, 4).getUint32(0, false);
}

export const DEFAULT_FORMAT: LineFormat = { dataBits: 8, parity: "none", stopBits: 1 };
