/**
 * ESP image parser: header, segments with file offsets, checksum byte position and values,
 * appended SHA-256 (stored and computed), and the app/bootloader descriptor from the first
 * segment. Bytes after the image (e.g. the rest of a flash partition) are ignored.
 */
import { createHash } from "node:crypto";
import { RsagenError } from "../errors.js";
import { isTargetName, type TargetName, targetByChipId } from "../targets.js";
import { parseAppDesc, parseBootloaderDesc } from "./descriptors.js";
import {
  CHECKSUM_SEED,
  IMAGE_HEADER_LENGTH,
  IMAGE_MAGIC,
  type ImageHeader,
  type ParsedImage,
  type ParsedSegment,
  SEGMENT_HEADER_LENGTH,
  SHA256_LENGTH,
} from "./format.js";
import { segmentKind } from "./memory.js";

/** Why an image could not be parsed at all (validateImage reports these as problems). */
export type ImageFormatFault = "bad-magic" | "truncated";

export class ImageFormatError extends RsagenError {
  readonly fault: ImageFormatFault;
  constructor(fault: ImageFormatFault, message: string) {
    super(
      "E_BAD_IMAGE",
      message,
      "the file is not a complete ESP image; rebuild it or check the offset it was read from",
    );
    this.fault = fault;
  }
}

const hx = (n: number, w = 0) => `0x${n.toString(16).padStart(w, "0")}`;

export function parseImageHeader(b: Uint8Array): ImageHeader & { segmentCount: number } {
  if (b.length < IMAGE_HEADER_LENGTH) {
    throw new ImageFormatError(
      "truncated",
      `Image is ${b.length} bytes, shorter than the 24-byte image header`,
    );
  }
  if (b[0] !== IMAGE_MAGIC) {
    throw new ImageFormatError("bad-magic", `Invalid image magic ${hx(b[0]!, 2)} (expected 0xe9)`);
  }
  const dv = new DataView(b.buffer, b.byteOffset, IMAGE_HEADER_LENGTH);
  return {
    segmentCount: b[1]!,
    flashMode: b[2]!,
    flashSizeCode: b[3]! >> 4,
    flashFreqCode: b[3]! & 0x0f,
    entry: dv.getUint32(4, true),
    wpPin: b[8]!,
    spiPinDrv: [b[9]!, b[10]!, b[11]!],
    chipId: dv.getUint16(12, true),
    minChipRev: b[14]!,
    minChipRevFull: dv.getUint16(15, true),
    maxChipRevFull: dv.getUint16(17, true),
    reserved: [b[19]!, b[20]!, b[21]!, b[22]!],
    hashAppended: b[23]! !== 0,
  };
}

export interface ParseImageOptions {
  /** Memory map for segment kinds; default: the target whose chip id the header carries. */
  target?: TargetName;
}

/**
 * Parses an image. Throws ImageFormatError (an RsagenError E_BAD_IMAGE) when the bytes are not
 * an image or end early; content problems (checksum, digest, chip) are reported in the result
 * and judged by validateImage().
 */
export function parseImage(bytes: Uint8Array, opts: ParseImageOptions = {}): ParsedImage {
  const { segmentCount, ...header } = parseImageHeader(bytes);
  const byChip = targetByChipId(header.chipId)?.name;
  const target = opts.target ?? (byChip && isTargetName(byChip) ? byChip : undefined);

  const segments: ParsedSegment[] = [];
  let pos = IMAGE_HEADER_LENGTH;
  let checksum = CHECKSUM_SEED;
  for (let index = 0; index < segmentCount; index++) {
    if (pos + SEGMENT_HEADER_LENGTH > bytes.length) {
      throw new ImageFormatError(
        "truncated",
        `Segment ${index} header at ${hx(pos)} is past the end of the image (${bytes.length} bytes)`,
      );
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset + pos, SEGMENT_HEADER_LENGTH);
    const loadAddr = dv.getUint32(0, true);
    const length = dv.getUint32(4, true);
    const dataOffset = pos + SEGMENT_HEADER_LENGTH;
    if (dataOffset + length > bytes.length) {
      throw new ImageFormatError(
        "truncated",
        `Segment ${index} (load ${hx(loadAddr, 8)}, ${hx(length)} bytes at ${hx(dataOffset)}) runs past the end of the image (${bytes.length} bytes)`,
      );
    }
    const data = bytes.subarray(dataOffset, dataOffset + length);
    for (const byte of data) checksum ^= byte;
    segments.push({
      index,
      loadAddr,
      length,
      headerOffset: pos,
      dataOffset,
      data,
      kind: target ? segmentKind(target, loadAddr) : "unknown",
    });
    pos = dataOffset + length;
  }

  // Zero padding to 15 mod 16, then the checksum byte (esptool align_file_position + append_checksum).
  const checksumOffset = pos + (15 - (pos % 16));
  if (checksumOffset >= bytes.length) {
    throw new ImageFormatError("truncated", `Image ends before its checksum byte at ${hx(checksumOffset)}`);
  }
  const stored = bytes[checksumOffset]!;
  const image: ParsedImage = {
    header,
    segmentCount,
    segments,
    checksum: { offset: checksumOffset, stored, computed: checksum, valid: stored === checksum },
    length: checksumOffset + 1,
    ...(target ? { target } : {}),
  };
  if (header.hashAppended) {
    const shaOffset = checksumOffset + 1;
    if (shaOffset + SHA256_LENGTH > bytes.length) {
      throw new ImageFormatError("truncated", `Image ends before its appended SHA-256 at ${hx(shaOffset)}`);
    }
    const storedSha = bytes.slice(shaOffset, shaOffset + SHA256_LENGTH);
    const computed = new Uint8Array(createHash("sha256").update(bytes.subarray(0, shaOffset)).digest());
    image.sha256 = {
      offset: shaOffset,
      stored: storedSha,
      computed,
      valid: Buffer.from(storedSha).equals(Buffer.from(computed)),
    };
    image.length = shaOffset + SHA256_LENGTH;
  }

  const first = segments[0];
  if (first) {
    const app = parseAppDesc(first.data);
    if (app) image.appDesc = app;
    else {
      const boot = parseBootloaderDesc(first.data);
      if (boot) image.bootloaderDesc = boot;
    }
  }
  return image;
}
