/**
 * The checks flashing needs on each image before anything is written: the image's chip id is the
 * build's target, and the file is whole (every segment present, checksum byte and the appended
 * SHA-256 within the file). Layout: ESP-IDF v5.5.5
 * components/bootloader_support/include/esp_app_format.h (esp_image_header_t,
 * esp_image_segment_header_t) and docs/en/api-reference/system/app_image_format.rst (footer). Full validation lives in src/image; this is the guard against flashing garbage.
 */
import { createHash } from "node:crypto";
import { RsagenError } from "../errors.js";
import { type TargetInfo, targetByChipId } from "../targets.js";

// esp_image_header_t / esp_image_segment_header_t (ESP-IDF v5.5.5 esp_app_format.h).
const IMAGE_MAGIC = 0xe9;
const IMAGE_HEADER_LENGTH = 24;
const SEGMENT_HEADER_LENGTH = 8;
const MAX_SEGMENTS = 16;
const SHA256_LENGTH = 32;

export function checkImage(label: string, data: Uint8Array, target: TargetInfo): void {
  const bad = (msg: string, hint = "rebuild with rsagen build; the file is damaged or not an ESP image") =>
    new RsagenError("E_BAD_IMAGE", `${label}: ${msg}`, hint);
  if (data.length < IMAGE_HEADER_LENGTH) throw bad(`only ${data.length} bytes, shorter than an image header`);
  if (data[0] !== IMAGE_MAGIC)
    throw bad(`does not start with the image magic 0xE9 (0x${data[0]!.toString(16)})`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const chipId = v.getUint16(12, true);
  if (chipId !== target.chipId) {
    const other = targetByChipId(chipId);
    throw new RsagenError(
      "E_BAD_IMAGE",
      `${label} is an image for ${other ? other.displayName : `chip id ${chipId}`}, but the build's target is ${target.name}`,
      `build for ${target.name} (rsagen build --target ${target.name}) or flash the matching build folder`,
    );
  }
  const segments = data[1]!;
  if (segments === 0 || segments > MAX_SEGMENTS) throw bad(`segment count ${segments} is out of range`);
  let o = IMAGE_HEADER_LENGTH;
  for (let i = 0; i < segments; i++) {
    if (o + SEGMENT_HEADER_LENGTH > data.length) throw bad(`truncated in the header of segment ${i}`);
    const len = v.getUint32(o + 4, true);
    o += SEGMENT_HEADER_LENGTH + len;
    if (o > data.length) throw bad(`truncated: segment ${i} needs ${o - data.length} more bytes`);
  }
  // Checksum byte sits at the last position of the 16-byte-aligned footer.
  const checksumEnd = (Math.floor(o / 16) + 1) * 16;
  if (checksumEnd > data.length) throw bad("truncated: the checksum byte is missing");
  if (data[23] === 1) {
    if (checksumEnd + SHA256_LENGTH > data.length) throw bad("truncated: the appended SHA-256 is missing");
    const want = Buffer.from(data.subarray(checksumEnd, checksumEnd + SHA256_LENGTH)).toString("hex");
    const got = createHash("sha256").update(data.subarray(0, checksumEnd)).digest("hex");
    if (want !== got) throw bad("the appended SHA-256 does not match the image (corrupted)");
  }
}
