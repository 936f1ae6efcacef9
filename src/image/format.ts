/**
 * ESP app/bootloader image format: constants and types.
 *
 * Sources: ESP-IDF v5.5.5 `components/bootloader_support/include/esp_app_format.h`
 * (esp_image_header_t, 24 bytes; esp_image_segment_header_t; ESP_IMAGE_MAX_SEGMENTS 16),
 * esptool v5.3.0 `esptool/bin_image.py` (checksum seed 0xEF, 16-byte alignment of the checksum,
 * IROM_ALIGN 64 KiB), and test/vectors/images (README: "Facts the image vectors show").
 */
import type { TargetName } from "../targets.js";

export const IMAGE_MAGIC = 0xe9;
export const IMAGE_HEADER_LENGTH = 24;
export const SEGMENT_HEADER_LENGTH = 8;
export const MAX_SEGMENTS = 16;
export const CHECKSUM_SEED = 0xef;
export const SHA256_LENGTH = 32;
/** Flash MMU page: file offset of flash-mapped data ≡ load address (mod 64 KiB). */
export const MMU_PAGE = 0x10000;
/** wp_pin value meaning "not used" (esptool WP_PIN_DISABLED). */
export const WP_PIN_DISABLED = 0xee;

/** Every field of the 24-byte common + extended header except magic and segment count. */
export interface ImageHeader {
  /** Byte 2: 0 QIO, 1 QOUT, 2 DIO, 3 DOUT. */
  flashMode: number;
  /** High nibble of byte 3 (0 = 1MB ... 4 = 16MB). */
  flashSizeCode: number;
  /** Low nibble of byte 3 (chip specific, see TargetInfo.flashFreqCodes). */
  flashFreqCode: number;
  entry: number;
  wpPin: number;
  /** Bytes 9..11 (SPI pin drive settings, two nibbles each). */
  spiPinDrv: [number, number, number];
  chipId: number;
  /** Legacy min_chip_rev byte. */
  minChipRev: number;
  /** major * 100 + minor. */
  minChipRevFull: number;
  /** major * 100 + minor; 0xFFFF = no limit in practice. */
  maxChipRevFull: number;
  /** Bytes 19..22, zero in every image esptool writes. */
  reserved: [number, number, number, number];
  /** Byte 23: a SHA-256 of the image follows the checksum. */
  hashAppended: boolean;
}

/** What a segment's load address falls in, by the target's memory map (src/targets.ts). */
export type SegmentKind = "drom" | "irom" | "dram" | "iram" | "padding" | "unknown";

export interface ImageSegment {
  loadAddr: number;
  data: Uint8Array;
}

export interface ParsedSegment extends ImageSegment {
  index: number;
  /** File offset of the 8-byte segment header (image-info's "File offs"). */
  headerOffset: number;
  /** File offset of the first data byte (headerOffset + 8). */
  dataOffset: number;
  length: number;
  kind: SegmentKind;
}

/** esp_app_desc_t (256 bytes) at the start of the first segment of an app image. */
export interface AppDesc {
  secureVersion: number;
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVer: string;
  /** 32 bytes; elf2image writes the ELF file's SHA-256 here. */
  appElfSha256: Uint8Array;
  /** v5.4+ fields (zero in older descriptors). */
  minEfuseBlkRevFull: number;
  maxEfuseBlkRevFull: number;
  /** log2 of the MMU page size; 0 = not recorded. */
  mmuPageSizeLog2: number;
}

/** esp_bootloader_desc_t (80 bytes) at the start of the first segment of a bootloader image. */
export interface BootloaderDesc {
  version: number;
  idfVer: string;
  dateTime: string;
}

export interface ParsedImage {
  header: ImageHeader;
  /** Header byte 1. */
  segmentCount: number;
  segments: ParsedSegment[];
  checksum: { offset: number; stored: number; computed: number; valid: boolean };
  /** Present when header.hashAppended. `computed` covers [0, checksum.offset]. */
  sha256?: { offset: number; stored: Uint8Array; computed: Uint8Array; valid: boolean };
  /** Bytes the image occupies (header to checksum, plus the digest when appended). */
  length: number;
  /** The target the memory map came from (given, or found by the header's chip id). */
  target?: TargetName;
  appDesc?: AppDesc;
  bootloaderDesc?: BootloaderDesc;
}
