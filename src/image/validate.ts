/**
 * Image checks for a target, as the ROM / 2nd-stage bootloader and esptool image-info apply them:
 * magic, chip id, segment count, segments inside the file, segment length multiple of 4,
 * flash-mapped segment offset ≡ address (mod 64 KiB), checksum, SHA-256, chip revision range,
 * and the descriptor the image kind needs.
 *
 * Messages follow esptool v5.3.0 image-info where it has one ("Unexpected chip ID in image.
 * Expected 5 but value was 9") and ESP-IDF v5.5.5 bootloader_support otherwise
 * ("Image requires chip rev >= v1.1, but chip is v0.3", "Segment 4 load address 0x..., doesn't
 * match data 0x...", esp_image_format.c / bootloader_common.c).
 */
import { RsagenError } from "../errors.js";
import { TARGETS, type TargetName, targetByChipId } from "../targets.js";
import { MAX_SEGMENTS, MMU_PAGE, type ParsedImage } from "./format.js";
import { isFlashMapped } from "./memory.js";
import { ImageFormatError, parseImage } from "./parse.js";

export type ImageProblemCode =
  | "bad-magic"
  | "truncated"
  | "too-many-segments"
  | "wrong-chip"
  | "segment-length"
  | "segment-misaligned"
  | "checksum"
  | "sha256"
  | "no-sha256"
  | "chip-rev-too-old"
  | "chip-rev-too-new"
  | "no-app-desc"
  | "no-bootloader-desc"
  | "too-large";

export interface ImageProblem {
  code: ImageProblemCode;
  message: string;
}

export interface ValidateImageOptions {
  target: TargetName;
  /** The chip's revision as major * 100 + minor; when given, min/max chip rev are checked. */
  chipRevision?: number;
  /** "app" requires esp_app_desc_t, "bootloader" esp_bootloader_desc_t; default: no requirement. */
  kind?: "app" | "bootloader";
  /** Bytes available (e.g. the partition size); the image must fit. */
  maxLength?: number;
  /** Require the appended SHA-256 (the 2nd-stage bootloader verifies it when present). */
  requireSha256?: boolean;
}

const hx = (n: number, w = 0) => `0x${n.toString(16).padStart(w, "0")}`;
const rev = (full: number) => `v${Math.floor(full / 100)}.${full % 100}`;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Problems of an already parsed image. */
export function imageProblems(image: ParsedImage, opts: ValidateImageOptions): ImageProblem[] {
  const out: ImageProblem[] = [];
  const t = TARGETS[opts.target];
  const h = image.header;
  if (h.chipId !== t.chipId) {
    const other = targetByChipId(h.chipId)?.displayName ?? "an unknown chip";
    out.push({
      code: "wrong-chip",
      message:
        `Unexpected chip ID in image. Expected ${t.chipId} but value was ${h.chipId}. ` +
        `The image is for ${other}, the target is ${t.displayName}.`,
    });
  }
  if (image.segmentCount > MAX_SEGMENTS) {
    out.push({
      code: "too-many-segments",
      message: `Image has ${image.segmentCount} segments; at most ${MAX_SEGMENTS} are allowed`,
    });
  }
  for (const s of image.segments) {
    if (s.length % 4 !== 0) {
      out.push({
        code: "segment-length",
        message: `Segment ${s.index} length ${hx(s.length)} is not a multiple of 4`,
      });
    }
    if (isFlashMapped(opts.target, s.loadAddr) && s.dataOffset % MMU_PAGE !== s.loadAddr % MMU_PAGE) {
      out.push({
        code: "segment-misaligned",
        message: `Segment ${s.index} load address ${hx(s.loadAddr, 8)}, doesn't match data ${hx(s.dataOffset, 8)}`,
      });
    }
  }
  if (!image.checksum.valid) {
    out.push({
      code: "checksum",
      message: `Checksum ${hx(image.checksum.stored, 2)} is invalid (calculated ${hx(image.checksum.computed, 2)})`,
    });
  }
  if (image.sha256 && !image.sha256.valid) {
    out.push({
      code: "sha256",
      message: `Validation hash is invalid: stored ${hex(image.sha256.stored)}, calculated ${hex(image.sha256.computed)}`,
    });
  }
  if (!image.sha256 && opts.requireSha256) {
    out.push({ code: "no-sha256", message: "Image has no appended SHA-256 digest" });
  }
  if (opts.chipRevision !== undefined) {
    if (opts.chipRevision < h.minChipRevFull) {
      out.push({
        code: "chip-rev-too-old",
        message: `Image requires chip rev >= ${rev(h.minChipRevFull)}, but chip is ${rev(opts.chipRevision)}`,
      });
    }
    if (opts.chipRevision > h.maxChipRevFull) {
      out.push({
        code: "chip-rev-too-new",
        message: `Image requires chip rev <= ${rev(h.maxChipRevFull)}, but chip is ${rev(opts.chipRevision)}`,
      });
    }
  }
  if (opts.kind === "app" && !image.appDesc) {
    out.push({
      code: "no-app-desc",
      message: "Image has no app description (esp_app_desc_t) in its first segment",
    });
  }
  if (opts.kind === "bootloader" && !image.bootloaderDesc) {
    out.push({
      code: "no-bootloader-desc",
      message: "Image has no bootloader description (esp_bootloader_desc_t) in its first segment",
    });
  }
  if (opts.maxLength !== undefined && image.length > opts.maxLength) {
    out.push({
      code: "too-large",
      message: `Image is ${image.length} bytes (${hx(image.length)}) and does not fit in ${opts.maxLength} bytes (${hx(opts.maxLength)})`,
    });
  }
  return out;
}

/**
 * Every problem of `bytes` as an image for the target; empty when it is good. Bytes that are not
 * an image at all give a single bad-magic or truncated problem.
 */
export function listImageProblems(bytes: Uint8Array, opts: ValidateImageOptions): ImageProblem[] {
  let image: ParsedImage;
  try {
    image = parseImage(bytes, { target: opts.target });
  } catch (err) {
    if (err instanceof ImageFormatError) return [{ code: err.fault, message: err.message }];
    throw err;
  }
  return imageProblems(image, opts);
}

/** Parses and validates; throws RsagenError E_BAD_IMAGE naming every problem. */
export function validateImage(bytes: Uint8Array, opts: ValidateImageOptions): ParsedImage {
  const problems = listImageProblems(bytes, opts);
  if (problems.length > 0) {
    throw new RsagenError(
      "E_BAD_IMAGE",
      `Invalid image for ${TARGETS[opts.target].displayName}: ${problems.map((p) => p.message).join("; ")}`,
      "rebuild the image for this target (rsagen build --target ...) and flash it again",
    );
  }
  return parseImage(bytes, { target: opts.target });
}
