/**
 * Size report: the app image against its partition (from the .bin and the partition table, so it
 * works for every ESP-IDF version and for host builds) plus, when ESP-IDF >= 5.3 produced it, the
 * memory breakdown of `idf.py size --format json2`
 * (esp-idf-size format_json: {version, layout:[{name,total,used,free,parts}], total_size?}).
 */
import { z } from "zod";
import { RsagenError } from "../errors.js";

export const sizeJson2Schema = z.object({
  version: z.string(),
  layout: z.array(
    z.looseObject({
      name: z.string(),
      total: z.number(),
      used: z.number(),
      free: z.number(),
      parts: z.record(z.string(), z.looseObject({ size: z.number() })),
    }),
  ),
  total_size: z.number().optional(),
});
export type SizeJson2 = z.infer<typeof sizeJson2Schema>;

export interface MemoryUse {
  name: string;
  used: number;
  total: number;
}

export interface AppSize {
  imageSize: number;
  partitionName: string;
  partitionOffset: number;
  partitionSize: number;
  freeBytes: number;
  /** Free share of the partition, 0..100 with one decimal. */
  freePercent: number;
  /** From idf.py size json2, when available. */
  memory?: MemoryUse[];
  /** esp-idf-size's total image size (json2 "total_size", v1.2+), when available. */
  totalSize?: number;
}

export function parseSizeJson2(text: string, file: string): SizeJson2 {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RsagenError(
      "E_BUILD_FAILED",
      `${file}: not JSON (${(err as Error).message})`,
      "run with --verbose to see idf.py size",
    );
  }
  const r = sizeJson2Schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RsagenError(
      "E_BUILD_FAILED",
      `${file}: not idf.py size json2 output (${i?.path.join(".") || "top"}: ${i?.message})`,
      "rsagen needs esp-idf-size's json2 format (ESP-IDF v5.3+)",
    );
  }
  return r.data;
}

/** Throws E_IMAGE_TOO_LARGE when the image does not fit; otherwise the numbers. */
export function appSize(
  imageSize: number,
  partition: { name: string; offset: number; size: number },
  json2?: SizeJson2,
): AppSize {
  if (imageSize > partition.size) {
    throw new RsagenError(
      "E_IMAGE_TOO_LARGE",
      `the app image is ${imageSize} bytes (0x${imageSize.toString(16)}) but partition '${partition.name}' holds ${partition.size} (0x${partition.size.toString(16)}): ${imageSize - partition.size} bytes too many`,
      "enlarge the app partition in partitions/rsagen.csv, or build with fewer features (--no-crypto-extra)",
    );
  }
  const freeBytes = partition.size - imageSize;
  const out: AppSize = {
    imageSize,
    partitionName: partition.name,
    partitionOffset: partition.offset,
    partitionSize: partition.size,
    freeBytes,
    freePercent: Math.round((freeBytes / partition.size) * 1000) / 10,
  };
  if (json2) {
    out.memory = json2.layout.map((l) => ({ name: l.name, used: l.used, total: l.total }));
    if (json2.total_size !== undefined) out.totalSize = json2.total_size;
  }
  return out;
}

export interface MatrixRow {
  target: string;
  hwMpi: boolean;
  /** Key slots compiled in (absent: yes). */
  keySlots?: boolean;
  size: AppSize;
}

const slotsOf = (r: MatrixRow) => r.keySlots !== false;

/** Bytes the hardware-MPI variant adds (positive) or saves (negative) per target, when both exist
 * (compared with the key slots as in the first row of the target). */
export function mpiDifference(rows: MatrixRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const hw of rows.filter((r) => r.hwMpi)) {
    if (out[hw.target] !== undefined) continue;
    const sw = rows.find((r) => !r.hwMpi && r.target === hw.target && slotsOf(r) === slotsOf(hw));
    if (sw) out[hw.target] = hw.size.imageSize - sw.size.imageSize;
  }
  return out;
}

/** Bytes the key slots add per target (hardware MPI on both sides), when both builds exist. */
export function slotsDifference(rows: MatrixRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const on of rows.filter((r) => r.hwMpi && slotsOf(r))) {
    const off = rows.find((r) => r.hwMpi && !slotsOf(r) && r.target === on.target);
    if (off) out[on.target] = on.size.imageSize - off.size.imageSize;
  }
  return out;
}

/** The matrix as a fixed-width text table (rendering only; the CLI prints it). */
export function formatSizeTable(rows: MatrixRow[]): string {
  const diff = mpiDifference(rows);
  const slots = slotsDifference(rows);
  const header = ["target", "mpi", "slots", "image", "partition", "free", "free%", "hw-sw", "slots+"];
  const body = rows.map((r) => {
    const first = rows.find((x) => x.target === r.target) === r;
    return [
      r.target,
      r.hwMpi ? "hw" : "sw",
      slotsOf(r) ? "yes" : "no",
      String(r.size.imageSize),
      String(r.size.partitionSize),
      String(r.size.freeBytes),
      `${r.size.freePercent.toFixed(1)}%`,
      first && diff[r.target] !== undefined ? signed(diff[r.target]!) : "",
      first && slots[r.target] !== undefined ? signed(slots[r.target]!) : "",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [fmt(header), ...body.map(fmt)].join("\n");
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : String(n);
}
