/**
 * rsagen host images (contract C3): the firmware's host executable packaged as a valid ESP app
 * image for a target, so `rsagen flash` and the virtual board treat it like any ESP-IDF build.
 *
 * App image (built with the codecs' buildImage, elf2image layout):
 *   segment 0: DROM at <drom start>+0x20 holding esp_app_desc_t (project "rsagen", version,
 *              idf_ver "host", app_elf_sha256 = SHA-256 of the executable, as elf2image does for
 *              an ELF);
 *   then the builder's zero padding segment (load address 0) up to the next 64 KiB page;
 *   one IROM segment at <irom start>+0x10020 whose data is the host payload:
 *     "RSAGEN-HOST-ELF\0" (16 bytes), u32 LE executable length, u32 LE flags (0), the executable,
 *     zero padding to a multiple of 4 (segment lengths must be, esp_image_format.c).
 * Bootloader image: a DRAM segment starting with esp_bootloader_desc_t and an IRAM segment with a
 * marker (it is never executed: the virtual board implements the 2nd-stage bootloader itself).
 */
import { createHash } from "node:crypto";
import { RsagenError } from "../errors.js";
import { FLASH_MODE_CODES, FLASH_SIZE_CODES, TARGETS, type TargetName } from "../targets.js";
import { buildImage } from "./build.js";
import { encodeAppDesc, encodeBootloaderDesc } from "./descriptors.js";
import { MMU_PAGE } from "./format.js";
import { isFlashMapped } from "./memory.js";
import { parseImage } from "./parse.js";
import { validateImage } from "./validate.js";

export const HOST_PAYLOAD_MAGIC = new TextEncoder().encode("RSAGEN-HOST-ELF\0");
export const HOST_PAYLOAD_HEADER_LENGTH = 24;
export const HOST_IDF_VER = "host";
export const HOST_PROJECT_NAME = "rsagen";
const BOOTLOADER_MARKER = new TextEncoder().encode("RSAGEN-HOST-BOOTLOADER\0\0");

export interface HostFlashSettings {
  /** esptool names: qio, qout, dio, dout. */
  mode: string;
  /** e.g. 4MB. */
  size: string;
  /** e.g. 80m. */
  freq: string;
}

export interface HostImageOptions {
  target: TargetName;
  version: string;
  flash: HostFlashSettings;
  /** Build time for the descriptors (default now; SOURCE_DATE_EPOCH-style reproducibility). */
  builtAt?: Date;
}

const bad = (message: string, hint = "rebuild with `rsagen build --host`") =>
  new RsagenError("E_BAD_IMAGE", message, hint);

/** The data of the payload segment: header, executable, zero padding to 4 bytes. */
export function encodeHostPayload(exe: Uint8Array): Uint8Array {
  if (exe.length === 0) throw bad("the host executable is empty", "check the host build output");
  const len = HOST_PAYLOAD_HEADER_LENGTH + exe.length;
  const out = new Uint8Array((len + 3) & ~3);
  out.set(HOST_PAYLOAD_MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(16, exe.length, true);
  dv.setUint32(20, 0, true); // flags: none defined
  out.set(exe, HOST_PAYLOAD_HEADER_LENGTH);
  return out;
}

export function isHostPayload(data: Uint8Array): boolean {
  return data.length >= HOST_PAYLOAD_HEADER_LENGTH && HOST_PAYLOAD_MAGIC.every((b, i) => data[i] === b);
}

/** The executable bytes inside a payload segment. */
export function decodeHostPayload(data: Uint8Array): Uint8Array {
  if (!isHostPayload(data)) throw bad("segment does not start with RSAGEN-HOST-ELF");
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const len = dv.getUint32(16, true);
  const flags = dv.getUint32(20, true);
  if (flags !== 0) throw bad(`host payload flags 0x${flags.toString(16)} are not supported by this rsagen`);
  if (HOST_PAYLOAD_HEADER_LENGTH + len > data.length) {
    throw bad(
      `host payload says ${len} bytes but the segment holds ${data.length - HOST_PAYLOAD_HEADER_LENGTH}`,
    );
  }
  return data.slice(HOST_PAYLOAD_HEADER_LENGTH, HOST_PAYLOAD_HEADER_LENGTH + len);
}

function headerFields(o: HostImageOptions) {
  const t = TARGETS[o.target];
  const flashMode = FLASH_MODE_CODES[o.flash.mode];
  const flashSizeCode = FLASH_SIZE_CODES[o.flash.size];
  const flashFreqCode = t.flashFreqCodes[o.flash.freq];
  if (flashMode === undefined || flashSizeCode === undefined || flashFreqCode === undefined) {
    throw bad(
      `flash settings ${o.flash.mode}/${o.flash.size}/${o.flash.freq} are not valid for ${t.displayName}`,
      "check the flash settings in sdkconfig/",
    );
  }
  return { flashMode, flashSizeCode, flashFreqCode };
}

function stamp(d: Date): { time: string; date: string } {
  // __TIME__ "hh:mm:ss" and __DATE__ "Mmm dd yyyy" (day space-padded), as ESP-IDF fills them.
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][
    d.getUTCMonth()
  ]!;
  const p2 = (n: number) => String(n).padStart(2, "0");
  return {
    time: `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`,
    date: `${mon} ${String(d.getUTCDate()).padStart(2, " ")} ${d.getUTCFullYear()}`,
  };
}

/** Packages a host executable as an ESP app image for o.target. */
export function wrapHostExecutable(exe: Uint8Array, o: HostImageOptions): Uint8Array {
  const t = TARGETS[o.target];
  const { time, date } = stamp(o.builtAt ?? new Date());
  const appDesc = encodeAppDesc({
    version: o.version,
    projectName: HOST_PROJECT_NAME,
    idfVer: HOST_IDF_VER,
    time,
    date,
    appElfSha256: new Uint8Array(createHash("sha256").update(exe).digest()),
    mmuPageSizeLog2: Math.log2(MMU_PAGE),
  });
  const dromAddr = t.memory.drom.start + 0x20;
  const iromAddr = t.memory.irom.start + MMU_PAGE + 0x20;
  return buildImage({
    target: o.target,
    header: { ...headerFields(o), entry: iromAddr },
    segments: [
      { loadAddr: dromAddr, data: appDesc },
      { loadAddr: iromAddr, data: encodeHostPayload(exe) },
    ],
    layout: "elf2image",
  });
}

/**
 * The executable inside a host app image, after checking the image is valid (magic, segments,
 * checksum, SHA-256, app description) for its target (from the header, or `target` when given).
 */
export function extractHostExecutable(
  imageBytes: Uint8Array,
  opts: { target?: TargetName } = {},
): Uint8Array {
  const target = opts.target ?? parseImage(imageBytes).target;
  if (!target) throw bad("the image's chip id is not one of the supported targets");
  const image = validateImage(imageBytes, { target, kind: "app", requireSha256: true });
  const seg = image.segments.find((s) => isFlashMapped(target, s.loadAddr) && isHostPayload(s.data));
  if (!seg) {
    throw bad(
      `not an rsagen host image: no segment starts with RSAGEN-HOST-ELF (app '${image.appDesc?.projectName ?? "?"}', IDF ${image.appDesc?.idfVer ?? "?"})`,
      "this app was built for real hardware; build the virtual-board image with `rsagen build --host`",
    );
  }
  return decodeHostPayload(seg.data);
}

/** A bootloader image in the real format for o.target (RAM segments, esp_bootloader_desc_t). */
export function buildHostBootloader(o: HostImageOptions): Uint8Array {
  const t = TARGETS[o.target];
  const d = o.builtAt ?? new Date();
  const { time, date } = stamp(d);
  const desc = encodeBootloaderDesc({ version: 1, idfVer: HOST_IDF_VER, dateTime: `${date} ${time}` });
  const dramAddr = t.memory.dram.end - 0x10000;
  const iramAddr = t.memory.iram.end - 0x20000;
  const code = new Uint8Array(64);
  code.set(BOOTLOADER_MARKER, 0);
  return buildImage({
    target: o.target,
    header: { ...headerFields(o), entry: iramAddr },
    segments: [
      { loadAddr: dramAddr, data: desc },
      { loadAddr: iramAddr, data: code },
    ],
    layout: "sequential",
  });
}
