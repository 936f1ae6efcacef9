/**
 * esp_app_desc_t and esp_bootloader_desc_t codecs.
 *
 * Layouts: ESP-IDF v5.5.5 `components/esp_app_format/include/esp_app_desc.h` (256 bytes, magic
 * 0xABCD5432; v5.4+ min/max eFuse block revision and mmu_page_size at +176..+180) and
 * `components/esp_bootloader_format/include/esp_bootloader_desc.h` (80 bytes, magic byte 0x50);
 * the same field formats as esptool v5.3.0 `cmds.py` `_parse_app_info` / `_parse_bootloader_info`.
 * Both sit at the start of the image's first segment: ESP-IDF reads them at
 * sizeof(esp_image_header_t) + sizeof(esp_image_segment_header_t) (esp_ota_ops.c).
 */
import { RsagenError } from "../errors.js";
import type { AppDesc, BootloaderDesc } from "./format.js";

export const APP_DESC_MAGIC = 0xabcd5432;
export const APP_DESC_LENGTH = 256;
export const BOOTLOADER_DESC_MAGIC = 0x50;
export const BOOTLOADER_DESC_LENGTH = 80;

function cString(b: Uint8Array, offset: number, length: number): string {
  const field = b.subarray(offset, offset + length);
  const nul = field.indexOf(0);
  return new TextDecoder().decode(nul >= 0 ? field.subarray(0, nul) : field);
}

function putCString(out: Uint8Array, offset: number, length: number, value: string, field: string): void {
  const bytes = new TextEncoder().encode(value);
  if (bytes.length >= length) {
    throw new RsagenError(
      "E_BAD_IMAGE",
      `${field} "${value}" is ${bytes.length} bytes; the descriptor field holds at most ${length - 1}`,
      `shorten the ${field}`,
    );
  }
  out.set(bytes, offset);
}

/** Reads an app descriptor from the start of `data`; undefined when the magic is absent. */
export function parseAppDesc(data: Uint8Array): AppDesc | undefined {
  if (data.length < APP_DESC_LENGTH) return undefined;
  const dv = new DataView(data.buffer, data.byteOffset, APP_DESC_LENGTH);
  if (dv.getUint32(0, true) !== APP_DESC_MAGIC) return undefined;
  return {
    secureVersion: dv.getUint32(4, true),
    version: cString(data, 16, 32),
    projectName: cString(data, 48, 32),
    time: cString(data, 80, 16),
    date: cString(data, 96, 16),
    idfVer: cString(data, 112, 32),
    appElfSha256: data.slice(144, 176),
    minEfuseBlkRevFull: dv.getUint16(176, true),
    maxEfuseBlkRevFull: dv.getUint16(178, true),
    mmuPageSizeLog2: data[180]!,
  };
}

export function encodeAppDesc(d: Partial<AppDesc> & Pick<AppDesc, "version" | "projectName">): Uint8Array {
  const out = new Uint8Array(APP_DESC_LENGTH);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, APP_DESC_MAGIC, true);
  dv.setUint32(4, d.secureVersion ?? 0, true);
  putCString(out, 16, 32, d.version, "version");
  putCString(out, 48, 32, d.projectName, "project name");
  putCString(out, 80, 16, d.time ?? "", "time");
  putCString(out, 96, 16, d.date ?? "", "date");
  putCString(out, 112, 32, d.idfVer ?? "", "IDF version");
  if (d.appElfSha256) {
    if (d.appElfSha256.length !== 32) {
      throw new RsagenError("E_BAD_IMAGE", "app_elf_sha256 must be 32 bytes", "pass a SHA-256 digest");
    }
    out.set(d.appElfSha256, 144);
  }
  dv.setUint16(176, d.minEfuseBlkRevFull ?? 0, true);
  dv.setUint16(178, d.maxEfuseBlkRevFull ?? 0, true);
  out[180] = d.mmuPageSizeLog2 ?? 0;
  return out;
}

/** Reads a bootloader descriptor from the start of `data`; undefined when the magic is absent. */
export function parseBootloaderDesc(data: Uint8Array): BootloaderDesc | undefined {
  if (data.length < BOOTLOADER_DESC_LENGTH || data[0] !== BOOTLOADER_DESC_MAGIC) return undefined;
  const dv = new DataView(data.buffer, data.byteOffset, BOOTLOADER_DESC_LENGTH);
  return { version: dv.getUint32(4, true), idfVer: cString(data, 8, 32), dateTime: cString(data, 40, 24) };
}

export function encodeBootloaderDesc(d: BootloaderDesc): Uint8Array {
  const out = new Uint8Array(BOOTLOADER_DESC_LENGTH);
  out[0] = BOOTLOADER_DESC_MAGIC;
  new DataView(out.buffer).setUint32(4, d.version, true);
  putCString(out, 8, 32, d.idfVer, "IDF version");
  putCString(out, 40, 24, d.dateTime, "date/time");
  return out;
}
