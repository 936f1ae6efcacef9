/**
 * Image builder: header + segments in, image bytes out (checksum padded to 16, SHA-256 appended).
 *
 * Layout "elf2image" places segments as esptool v5.3.0 `elf2image` does (bin_image.py,
 * ESP32FirmwareImage.save; the algorithm re-implemented here, not copied):
 * - flash-mapped segments (target DROM/IROM window) are written in the given order, each at a
 *   file offset whose data satisfies offset ≡ load address (mod 64 KiB); elf2image puts the
 *   `.flash.appdesc` segment first, so give the app-descriptor segment first;
 * - the gap before a flash segment is filled with the RAM segments (given order; the first one is
 *   split if it is longer than the gap) and, when no RAM data is left or the gap is 8 bytes or
 *   less, with a zero segment of load address 0;
 * - RAM segments left over follow the last flash segment;
 * - on esp32 a flash segment is zero-extended so it ends at least 0x24 bytes past a 64 KiB
 *   boundary (esptool's workaround for an old ESP32 bootloader MMU bug).
 * Layout "sequential" writes the segments exactly as given (e.g. re-packing a parsed image).
 */
import { createHash } from "node:crypto";
import { RsagenError } from "../errors.js";
import { TARGETS, type TargetName } from "../targets.js";
import {
  CHECKSUM_SEED,
  IMAGE_HEADER_LENGTH,
  IMAGE_MAGIC,
  type ImageHeader,
  type ImageSegment,
  MAX_SEGMENTS,
  MMU_PAGE,
  SEGMENT_HEADER_LENGTH,
  WP_PIN_DISABLED,
} from "./format.js";
import { isFlashMapped } from "./memory.js";

export interface BuildImageSpec {
  target: TargetName;
  /** Header fields; defaults are elf2image's (QIO, 1MB, 40m code 0, wp 0xEE, target chip id, max rev 0xFFFF, SHA-256 on). */
  header: Partial<ImageHeader> & Pick<ImageHeader, "entry">;
  segments: ImageSegment[];
  layout?: "elf2image" | "sequential";
}

const hx = (n: number) => `0x${n.toString(16)}`;
const bad = (message: string, hint = "check the segments passed to the image builder") =>
  new RsagenError("E_BAD_IMAGE", message, hint);

function fullHeader(spec: BuildImageSpec): ImageHeader {
  const h = spec.header;
  return {
    flashMode: h.flashMode ?? 0,
    flashSizeCode: h.flashSizeCode ?? 0,
    flashFreqCode: h.flashFreqCode ?? 0,
    entry: h.entry,
    wpPin: h.wpPin ?? WP_PIN_DISABLED,
    spiPinDrv: h.spiPinDrv ?? [0, 0, 0],
    chipId: h.chipId ?? TARGETS[spec.target].chipId,
    minChipRev: h.minChipRev ?? 0,
    minChipRevFull: h.minChipRevFull ?? 0,
    maxChipRevFull: h.maxChipRevFull ?? 0xffff,
    reserved: h.reserved ?? [0, 0, 0, 0],
    hashAppended: h.hashAppended ?? true,
  };
}

function encodeHeader(h: ImageHeader, segmentCount: number): Uint8Array {
  const b = new Uint8Array(IMAGE_HEADER_LENGTH);
  const dv = new DataView(b.buffer);
  b[0] = IMAGE_MAGIC;
  b[1] = segmentCount;
  b[2] = h.flashMode;
  b[3] = ((h.flashSizeCode & 0xf) << 4) | (h.flashFreqCode & 0xf);
  dv.setUint32(4, h.entry, true);
  b[8] = h.wpPin;
  b.set(h.spiPinDrv, 9);
  dv.setUint16(12, h.chipId, true);
  b[14] = h.minChipRev;
  dv.setUint16(15, h.minChipRevFull, true);
  dv.setUint16(17, h.maxChipRevFull, true);
  b.set(h.reserved, 19);
  b[23] = h.hashAppended ? 1 : 0;
  return b;
}

/** Real segments get 4-byte lengths (zero-padded), as elf2image's ImageSegment does. */
function padTo4(s: ImageSegment): ImageSegment {
  if (s.data.length % 4 === 0 || s.loadAddr === 0) return s;
  const data = new Uint8Array(s.data.length + (4 - (s.data.length % 4)));
  data.set(s.data);
  return { loadAddr: s.loadAddr, data };
}

/** Padding data needed so the next segment header puts flash data at offset ≡ addr (mod 64 KiB). */
function paddingNeeded(pos: number, addr: number): number {
  const alignPast = (addr % MMU_PAGE) - SEGMENT_HEADER_LENGTH;
  let pad = MMU_PAGE - (pos % MMU_PAGE) + alignPast;
  if (pad === 0 || pad === MMU_PAGE) return 0;
  pad -= SEGMENT_HEADER_LENGTH; // the filler segment has a header too
  if (pad < 0) pad += MMU_PAGE;
  return pad;
}

function layoutElf2image(target: TargetName, segments: ImageSegment[]): ImageSegment[] {
  const flash = segments.filter((s) => isFlashMapped(target, s.loadAddr));
  const ram = segments.filter((s) => !isFlashMapped(target, s.loadAddr)).map((s) => ({ ...s }));
  for (let i = 1; i < flash.length; i++) {
    const a = flash[i - 1]!.loadAddr;
    const b = flash[i]!.loadAddr;
    if (Math.floor(a / MMU_PAGE) === Math.floor(b / MMU_PAGE)) {
      throw bad(
        `Segment loaded at ${hx(b)} lands in the same 64 KB flash mapping as segment loaded at ${hx(a)}`,
        "merge the two segments or move one to another 64 KiB page",
      );
    }
  }
  const out: ImageSegment[] = [];
  let pos = IMAGE_HEADER_LENGTH;
  const put = (s: ImageSegment) => {
    out.push(s);
    pos += SEGMENT_HEADER_LENGTH + s.data.length;
  };
  let fi = 0;
  while (fi < flash.length) {
    const seg = flash[fi]!;
    const pad = paddingNeeded(pos, seg.loadAddr);
    if (pad > 0) {
      const head = ram[0];
      if (head && pad > SEGMENT_HEADER_LENGTH) {
        const piece = { loadAddr: head.loadAddr, data: head.data.subarray(0, pad) };
        head.data = head.data.subarray(piece.data.length);
        head.loadAddr += piece.data.length;
        if (head.data.length === 0) ram.shift();
        put(piece);
      } else {
        put({ loadAddr: 0, data: new Uint8Array(pad) });
      }
      continue;
    }
    let data = seg.data;
    if (target === "esp32") {
      const rem = (pos + SEGMENT_HEADER_LENGTH + data.length) % MMU_PAGE;
      if (rem < 0x24) {
        data = new Uint8Array(data.length + (0x24 - rem));
        data.set(seg.data);
      }
    }
    put({ loadAddr: seg.loadAddr, data });
    fi++;
  }
  for (const s of ram) put(s);
  return out;
}

/** Builds the image bytes. Throws RsagenError E_BAD_IMAGE for layouts no bootloader accepts. */
export function buildImage(spec: BuildImageSpec): Uint8Array {
  const header = fullHeader(spec);
  const input = spec.segments.map(padTo4);
  const placed = (spec.layout ?? "elf2image") === "elf2image" ? layoutElf2image(spec.target, input) : input;
  if (placed.length > MAX_SEGMENTS) {
    throw bad(`Image would have ${placed.length} segments; at most ${MAX_SEGMENTS} are allowed`);
  }
  for (const [i, s] of placed.entries()) {
    if (s.data.length % 4 !== 0) throw bad(`Segment ${i} length ${hx(s.data.length)} is not a multiple of 4`);
    if (s.data.length >= 0x1000000) throw bad(`Segment ${i} is larger than the 16 MB limit`);
  }
  const body = placed.reduce((n, s) => n + SEGMENT_HEADER_LENGTH + s.data.length, IMAGE_HEADER_LENGTH);
  const checksumOffset = body + (15 - (body % 16));
  const total = checksumOffset + 1 + (header.hashAppended ? 32 : 0);
  const out = new Uint8Array(total);
  out.set(encodeHeader(header, placed.length), 0);
  const dv = new DataView(out.buffer);
  let pos = IMAGE_HEADER_LENGTH;
  let checksum = CHECKSUM_SEED;
  for (const s of placed) {
    dv.setUint32(pos, s.loadAddr, true);
    dv.setUint32(pos + 4, s.data.length, true);
    out.set(s.data, pos + SEGMENT_HEADER_LENGTH);
    for (const byte of s.data) checksum ^= byte;
    pos += SEGMENT_HEADER_LENGTH + s.data.length;
  }
  out[checksumOffset] = checksum;
  if (header.hashAppended) {
    out.set(
      createHash("sha256")
        .update(out.subarray(0, checksumOffset + 1))
        .digest(),
      checksumOffset + 1,
    );
  }
  return out;
}
