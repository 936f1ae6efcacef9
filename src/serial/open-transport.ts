/**
 * The factory that picks a Transport backend from a port string (transport.ts, parsePortSpec):
 * `rfc2217://host:port` -> the RFC 2217 client, anything else -> npm `serialport`. It lives apart
 * from transport.ts because it imports the backends, and the backends import transport.ts.
 */
import { Rfc2217Transport } from "./rfc2217-transport.js";
import { SerialPortTransport } from "./serialport-transport.js";
import { parsePortSpec, type Transport, type TransportOptions, transportOptionsSchema } from "./transport.js";

/** Creates the backend for a port string without opening it. */
export function createTransport(spec: string, options: TransportOptions = {}): Transport {
  const parsed = parsePortSpec(spec);
  const opts = transportOptionsSchema.parse(options);
  return parsed.kind === "rfc2217"
    ? new Rfc2217Transport(spec, parsed.host, parsed.port, opts)
    : new SerialPortTransport(parsed.path, opts);
}

/** Creates and opens the backend for a port string. */
export async function openTransport(spec: string, options: TransportOptions = {}): Promise<Transport> {
  const t = createTransport(spec, options);
  await t.open();
  return t;
}
