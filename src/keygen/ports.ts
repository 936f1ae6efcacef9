/**
 * Ports for `--all`: USB serial devices with the vendor ids of the bridges found on ESP32 boards
 * (Silicon Labs CP210x 0x10C4, WCH CH34x 0x1A86, FTDI 0x0403) and Espressif's native USB (0x303A,
 * see src/targets.ts nativeUsb).
 */
import { RsagenError } from "../errors.js";

export const BOARD_USB_VIDS = [0x10c4, 0x1a86, 0x0403, 0x303a] as const;

export async function detectBoardPorts(): Promise<string[]> {
  const { SerialPort } = await import("serialport");
  const list = await SerialPort.list();
  const ports = list
    .filter(
      (p) => p.vendorId !== undefined && BOARD_USB_VIDS.includes(Number.parseInt(p.vendorId, 16) as never),
    )
    .map((p) => p.path)
    .sort();
  if (ports.length === 0) {
    throw new RsagenError(
      "E_NO_PORT",
      "--all found no ESP32 board on USB",
      "plug a board in, or name ports with --port",
    );
  }
  return ports;
}

/** A short, file-name-safe label for a port: /dev/ttyUSB0 -> ttyUSB0, rfc2217://h:4000 -> h-4000. */
export function portLabel(port: string): string {
  const base = port.replace(/^rfc2217:\/\//i, "").replace(/^.*[/\\]/, "");
  return base.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "port";
}
