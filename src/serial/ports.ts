/**
 * Port discovery: list serial ports with their USB identity, and pick the board's.
 *
 * serialport's list() shells out to `udevadm` on Linux, which minimal systems and containers lack;
 * then the same facts are read from sysfs: /sys/class/tty/<name>/device is the tty's device node,
 * and the USB device directory above it (…/<bus>-<port>/, found by walking up) holds idVendor,
 * idProduct, manufacturer, product and serial (Linux ABI: Documentation/ABI/stable/sysfs-bus-usb).
 */
import { readdir, readFile, realpath } from "node:fs/promises";
import path from "node:path";
import { RsagenError } from "../errors.js";
import { USB_BRIDGES } from "../targets.js";

export interface PortCandidate {
  path: string;
  vid?: number;
  pid?: number;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
  /** Name of the matching USB_BRIDGES entry (src/targets.ts), if any. */
  bridge?: string;
}

export interface ListOptions {
  /** Root of the sysfs tree (tests point it at a fake tree). Default /sys. */
  sysRoot?: string;
  /** Directory of the device nodes. Default /dev. */
  devRoot?: string;
  /** Try serialport's list() first (default true; false = sysfs only). */
  useSerialportList?: boolean;
}

/** Lists serial ports, each annotated with the known USB bridge it matches. */
export async function listPorts(options: ListOptions = {}): Promise<PortCandidate[]> {
  let found: PortCandidate[] | undefined;
  if (options.useSerialportList ?? options.sysRoot === undefined) {
    found = await listWithSerialport().catch(() => undefined);
  }
  if (!found || found.length === 0)
    found = await listFromSysfs(options.sysRoot ?? "/sys", options.devRoot ?? "/dev");
  return found.map(annotate).sort((a, b) => a.path.localeCompare(b.path));
}

async function listWithSerialport(): Promise<PortCandidate[]> {
  const { SerialPort } = await import("serialport");
  const ports = await SerialPort.list();
  return ports.map((p) => ({
    path: p.path,
    ...(p.vendorId ? { vid: Number.parseInt(p.vendorId, 16) } : {}),
    ...(p.productId ? { pid: Number.parseInt(p.productId, 16) } : {}),
    ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
    ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
  }));
}

/** Reads /sys/class/tty: ttys with a backing device; USB ones carry VID/PID. */
export async function listFromSysfs(sysRoot: string, devRoot: string): Promise<PortCandidate[]> {
  const classDir = path.join(sysRoot, "class", "tty");
  const names = await readdir(classDir).catch(() => [] as string[]);
  const out: PortCandidate[] = [];
  for (const name of names) {
    const deviceDir = await realpath(path.join(classDir, name, "device")).catch(() => undefined);
    if (!deviceDir) continue; // virtual terminals, ptys: no device
    const driver = await realpath(path.join(deviceDir, "driver")).catch(() => undefined);
    const usbDir = await findUsbDevice(deviceDir, sysRoot);
    // Legacy 8250 ports (ttyS0..31) exist whether or not a UART is behind them: not candidates.
    if (!usbDir && driver && path.basename(driver) === "serial8250") continue;
    const candidate: PortCandidate = { path: path.join(devRoot, name) };
    if (usbDir) {
      const vid = await readHex(path.join(usbDir, "idVendor"));
      const pid = await readHex(path.join(usbDir, "idProduct"));
      if (vid !== undefined) candidate.vid = vid;
      if (pid !== undefined) candidate.pid = pid;
      const manufacturer = await readText(path.join(usbDir, "manufacturer"));
      const product = await readText(path.join(usbDir, "product"));
      const serial = await readText(path.join(usbDir, "serial"));
      if (manufacturer) candidate.manufacturer = manufacturer;
      if (product) candidate.product = product;
      if (serial) candidate.serialNumber = serial;
    }
    out.push(candidate);
  }
  return out;
}

/** Walks up from the tty's device to the USB device directory (the one with idVendor). */
async function findUsbDevice(start: string, sysRoot: string): Promise<string | undefined> {
  let dir = start;
  const root = path.resolve(sysRoot);
  for (let i = 0; i < 5 && dir.startsWith(root) && dir !== root; i++) {
    if ((await readText(path.join(dir, "idVendor"))) !== undefined) return dir;
    dir = path.dirname(dir);
  }
  return undefined;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    return undefined;
  }
}

async function readHex(file: string): Promise<number | undefined> {
  const t = await readText(file);
  if (t === undefined || !/^[0-9a-f]{1,4}$/i.test(t)) return undefined;
  return Number.parseInt(t, 16);
}

function annotate(c: PortCandidate): PortCandidate {
  const bridge = USB_BRIDGES.find((b) => b.vid === c.vid && b.pid === c.pid);
  return bridge ? { ...c, bridge: bridge.name } : c;
}

function hex4(n: number | undefined): string {
  return (n ?? 0).toString(16).padStart(4, "0");
}

export function describeCandidate(c: PortCandidate): string {
  const id = c.vid !== undefined ? ` ${hex4(c.vid)}:${hex4(c.pid)}` : "";
  const what = c.bridge ?? c.product ?? c.manufacturer;
  return `${c.path}${id}${what ? ` ${what}` : ""}`;
}

/**
 * Picks the board's port: exactly one candidate on a known USB-UART bridge or ESP native USB.
 * None or several -> E_NO_PORT listing the candidates.
 */
export function choosePort(candidates: readonly PortCandidate[]): PortCandidate {
  const matches = candidates.filter((c) => c.bridge !== undefined);
  const [only] = matches;
  if (matches.length === 1 && only) return only;
  const listing = candidates.length > 0 ? candidates.map(describeCandidate).join(", ") : "none";
  if (matches.length === 0) {
    return fail(
      `no ESP32 board found (serial ports: ${listing})`,
      "plug the board in, or pass --port (a device such as /dev/ttyUSB0, or rfc2217://host:port)",
    );
  }
  return fail(
    `several boards found: ${matches.map(describeCandidate).join(", ")}`,
    `pass --port to choose one, e.g. --port ${matches[0]?.path}`,
  );
}

function fail(message: string, hint: string): never {
  throw new RsagenError("E_NO_PORT", message, hint);
}

/** --port if given, else discovery. Returns the port string and the USB identity when known. */
export async function resolvePort(
  explicit: string | undefined,
  options: ListOptions = {},
): Promise<{ path: string; usb?: { vid: number; pid: number } }> {
  const candidates =
    explicit === undefined || !explicit.startsWith("rfc2217:") ? await listPorts(options) : [];
  const chosen =
    explicit !== undefined ? candidates.find((c) => c.path === explicit) : choosePort(candidates);
  const usb =
    chosen?.vid !== undefined && chosen.pid !== undefined ? { vid: chosen.vid, pid: chosen.pid } : undefined;
  return { path: explicit ?? chosen!.path, ...(usb ? { usb } : {}) };
}
