/**
 * Ports for `keygen --all`: every serial port on a known USB-UART bridge or ESP native USB, as
 * the serial engineer's discovery annotates them (src/serial/ports.ts, USB_BRIDGES in src/targets.ts).
 */
import { RsagenError } from "../errors.js";
import { describeCandidate, type ListOptions, listPorts, resolvePort } from "../serial/ports.js";

export async function detectBoardPorts(options: ListOptions = {}): Promise<string[]> {
  const all = await listPorts(options);
  const boards = all.filter((c) => c.bridge !== undefined).map((c) => c.path);
  if (boards.length === 0) {
    const listing = all.length ? all.map(describeCandidate).join(", ") : "none";
    throw new RsagenError(
      "E_NO_PORT",
      `--all found no ESP32 board (serial ports: ${listing})`,
      "plug a board in, or name ports with --port (repeatable)",
    );
  }
  return boards;
}

/**
 * The ports `rsagen keygen` works on: with --all every board found; otherwise the ports named with
 * -p/--port (repeatable), the configured port (ESPPORT, rsagen.config.json), or else the one board
 * found on USB (E_NO_PORT for none or several, as rsagen flash). `options` points discovery at
 * another sysfs (tests).
 */
export async function keygenPorts(
  choice: { all: boolean; named: readonly string[]; configured?: string | undefined },
  options: ListOptions = {},
): Promise<string[]> {
  if (choice.all) return detectBoardPorts(options);
  if (choice.named.length > 0) return [...choice.named];
  if (choice.configured) return [choice.configured];
  return [(await resolvePort(undefined, options)).path];
}

/** A short, file-name-safe label for a port: /dev/ttyUSB0 -> ttyUSB0, rfc2217://h:4000 -> h-4000. */
export function portLabel(port: string): string {
  const base = port.replace(/^rfc2217:\/\//i, "").replace(/^.*[/\\]/, "");
  return base.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "port";
}
