/**
 * Turns a build's manifest into the regions to write, refusing before anything touches the board:
 * images for another chip or truncated, regions that overlap, are not sector-aligned, or do not
 * fit the flash size; a partition table whose partitions run past the flash, or an app larger
 * than its partition.
 */
import { createHash } from "node:crypto";
import { RsagenError } from "../errors.js";
import { APP_TYPE, decodePartitionTable } from "../partitions/index.js";
import { TARGETS, type TargetInfo, type TargetName } from "../targets.js";
import { checkImage } from "./image-check.js";
import { SECTOR_SIZE } from "./rom-loader.js";

export interface Region {
  name: string;
  offset: number;
  /** Padded to 4 bytes as esptool writes it; md5 is over these bytes. */
  data: Uint8Array;
  md5: string;
}

export interface FlashPlan {
  target: TargetInfo;
  flashSize: number;
  flashSizeName: string;
  flashMode: string;
  flashFreq: string;
  regions: Region[];
}

export interface PlanFile {
  name: string;
  offset: number;
  data: Uint8Array;
  role?: "bootloader" | "partition-table" | "app" | string;
}

export interface PlanInput {
  target: TargetName;
  flash: { size: string; mode: string; freq: string };
  files: PlanFile[];
}

export function md5Hex(data: Uint8Array): string {
  return createHash("md5").update(data).digest("hex");
}

/** "4MB" -> 4 MiB; "detect"/"keep" -> undefined (use the target's default and the board's answer). */
export function parseFlashSize(s: string): number | undefined {
  const m = /^(\d+)(KB|MB)$/i.exec(s.trim());
  if (!m) return undefined;
  return Number(m[1]) * (m[2]!.toUpperCase() === "MB" ? 1024 * 1024 : 1024);
}

function pad4(data: Uint8Array): Uint8Array {
  if (data.length % 4 === 0) return data;
  const out = new Uint8Array(data.length + (4 - (data.length % 4))).fill(0xff);
  out.set(data);
  return out;
}

const hex = (n: number) => `0x${n.toString(16)}`;

export function planFlash(input: PlanInput): FlashPlan {
  const target = TARGETS[input.target];
  const flashSize = parseFlashSize(input.flash.size) ?? target.defaultFlashSize;
  const bad = (msg: string, hint = "rebuild with rsagen build") => new RsagenError("E_BAD_IMAGE", msg, hint);
  if (input.files.length === 0)
    throw new RsagenError("E_NO_MANIFEST", "the manifest lists no files", "rebuild");
  const regions: Region[] = [];
  for (const f of input.files) {
    if (f.data.length === 0) throw bad(`${f.name} is empty`);
    if (f.offset % SECTOR_SIZE !== 0) {
      throw bad(`${f.name} is at ${hex(f.offset)}, which is not a multiple of the 4 KiB flash sector`);
    }
    const data = pad4(f.data);
    if (f.offset + data.length > flashSize) {
      throw new RsagenError(
        "E_IMAGE_TOO_LARGE",
        `${f.name} (${data.length} bytes at ${hex(f.offset)}) ends past the ${input.flash.size} flash`,
        "use a board with more flash or shrink the image",
      );
    }
    if (f.role === "bootloader" || f.role === "app") checkImage(f.name, f.data, target);
    regions.push({ name: f.name, offset: f.offset, data, md5: md5Hex(data) });
  }
  regions.sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < regions.length; i++) {
    const a = regions[i - 1]!;
    const b = regions[i]!;
    if (a.offset + a.data.length > b.offset) {
      throw bad(
        `${a.name} (${hex(a.offset)}..${hex(a.offset + a.data.length)}) overlaps ${b.name} at ${hex(b.offset)}`,
      );
    }
  }
  const table = input.files.find((f) => f.role === "partition-table");
  if (table) checkPartitions(table, input.files, flashSize, input.flash.size);
  return {
    target,
    flashSize,
    flashSizeName: input.flash.size,
    flashMode: input.flash.mode,
    flashFreq: input.flash.freq,
    regions,
  };
}

function checkPartitions(table: PlanFile, files: PlanFile[], flashSize: number, sizeName: string): void {
  const decoded = decodePartitionTable(table.data);
  for (const p of decoded.entries) {
    if (p.offset + p.size > flashSize) {
      throw new RsagenError(
        "E_BAD_PARTITIONS",
        `partition '${p.name}' ends at ${hex(p.offset + p.size)}, past the ${sizeName} flash`,
        "set a larger flash size for the build or shrink the partition table",
      );
    }
  }
  for (const f of files) {
    if (f.role !== "app") continue;
    const part = decoded.entries.find((p) => p.type === APP_TYPE && p.offset === f.offset);
    if (!part) {
      throw new RsagenError(
        "E_BAD_PARTITIONS",
        `no app partition starts at ${hex(f.offset)}, where ${f.name} would be written`,
        "the partition table and flasher_args.json disagree; rebuild",
      );
    }
    if (f.data.length > part.size) {
      throw new RsagenError(
        "E_IMAGE_TOO_LARGE",
        `${f.name} is ${f.data.length} bytes, larger than partition '${part.name}' (${part.size} bytes)`,
        "shrink the app or enlarge its partition",
      );
    }
  }
}
