/**
 * Table checks. The first group is what ESP-IDF v5.5.5 gen_esp32part.py `verify()` checks, with
 * its messages; then what rsagen needs on top: names within the 16-byte field, the table fits
 * the flash, an app partition exists.
 */
import { partitionError } from "./errors.js";
import {
  APP_TYPE,
  BOOTLOADER_TYPE,
  DATA_TYPE,
  DEFAULT_TABLE_OFFSET,
  NAME_FIELD_LENGTH,
  offsetAlignment,
  PARTITION_SUBTYPES,
  PARTITION_TABLE_TYPE,
  type PartitionEntry,
  type PartitionTable,
  sizeAlignment,
  TABLE_SECTOR_SIZE,
} from "./types.js";

export interface ValidateOptions {
  /** Partition table offset, default 0x8000. */
  tableOffset?: number;
  /** Flash size in bytes; when given, every partition must end within it. */
  flashSize?: number;
  /** Require at least one app partition (default true: nothing could boot otherwise). */
  requireApp?: boolean;
}

const hx = (n: number): string => `0x${n.toString(16)}`;
const SUB = PARTITION_SUBTYPES[DATA_TYPE]!;
/** NVS needs at least 3 pages to be writable (gen_esp32part NVS_RW_MIN_PARTITION_SIZE). */
const NVS_RW_MIN_SIZE = 0x3000;

function isPrimaryFixed(p: PartitionEntry): boolean {
  return (p.type === BOOTLOADER_TYPE || p.type === PARTITION_TABLE_TYPE) && p.subtype === 0x00;
}

function entryProblems(p: PartitionEntry): string[] {
  const out: string[] = [];
  const bad = (msg: string) => out.push(`Partition ${p.name} invalid: ${msg}`);
  const nameBytes = new TextEncoder().encode(p.name).length;
  if (nameBytes === 0) bad("name is empty");
  if (nameBytes > NAME_FIELD_LENGTH) {
    bad(
      `name is ${nameBytes} bytes long; the limit is ${NAME_FIELD_LENGTH} (15 characters + NUL, or exactly 16)`,
    );
  }
  const oa = offsetAlignment(p.type);
  if (p.offset % oa) bad(`Offset ${hx(p.offset)} is not aligned to ${hx(oa)}`);
  if (p.type === APP_TYPE) {
    const sa = sizeAlignment(p.type);
    if (p.size % sa) bad(`Size ${hx(p.size)} is not aligned to ${hx(sa)}`);
  }
  if (p.size === 0) bad("Size is 0");
  if (p.offset + p.size > 0x1_0000_0000) bad(`ends past the 4 GiB address space`);
  if (p.type === DATA_TYPE && (p.subtype === SUB.ota || p.subtype === SUB.coredump) && p.readonly) {
    bad(
      `'${p.name}' partition of type ${p.type} and subtype ${p.subtype} is always read-write and cannot be read-only`,
    );
  }
  if (p.type === DATA_TYPE && p.subtype === SUB.nvs && p.size < NVS_RW_MIN_SIZE && !p.readonly) {
    bad(
      `'${p.name}' partition of type ${p.type} and subtype ${p.subtype} of this size (${hx(p.size)}) must be ` +
        `flagged as 'readonly' (the size of read/write NVS has to be at least ${hx(NVS_RW_MIN_SIZE)})`,
    );
  }
  return out;
}

/** Every problem found, in gen_esp32part's check order; empty when the table is good. */
export function listPartitionProblems(table: PartitionTable, opts: ValidateOptions = {}): string[] {
  const problems: string[] = [];
  const entries = table.entries;
  for (const p of entries) problems.push(...entryProblems(p));

  const counts = new Map<string, number>();
  for (const p of entries) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
  const dups = [...counts].filter(([, n]) => n > 1).map(([name]) => name);
  if (dups.length > 0) problems.push(`Partition names must be unique (duplicated: ${dups.join(", ")})`);

  const firstFree = (opts.tableOffset ?? DEFAULT_TABLE_OFFSET) + TABLE_SECTOR_SIZE;
  let last: PartitionEntry | undefined;
  for (const p of [...entries].sort((a, b) => a.offset - b.offset)) {
    if (p.offset < firstFree && !isPrimaryFixed(p)) {
      problems.push(`Partition offset ${hx(p.offset)} is below ${hx(firstFree)}`);
    }
    if (last && p.offset < last.offset + last.size) {
      problems.push(
        `Partition at ${hx(p.offset)} overlaps ${hx(last.offset)}-${hx(last.offset + last.size - 1)}` +
          ` (${p.name} overlaps ${last.name})`,
      );
    }
    last = p;
  }

  for (const [sub, label, subName] of [
    [SUB.ota!, "otadata", "ota"],
    [SUB.tee_ota!, "TEE otadata", "tee_ota"],
  ] as const) {
    const found = entries.filter((p) => p.type === DATA_TYPE && p.subtype === sub);
    if (found.length > 1) {
      problems.push(
        `Found multiple ${label} partitions. Only one partition can be defined with ` +
          `type="data"(1) and subtype="${subName}"(${hx(sub)}).`,
      );
    }
    if (found.length === 1 && found[0]!.size !== 0x2000) {
      problems.push(`${label} partition must have size = 0x2000`);
    }
  }

  if (opts.flashSize !== undefined) {
    const end = entries.reduce((m, p) => Math.max(m, p.offset + p.size), 0);
    if (end > opts.flashSize) {
      const mb = 1024 * 1024;
      problems.push(
        `Partitions tables occupies ${(end / mb).toFixed(1)}MB of flash (${end} bytes) which does not fit in ` +
          `configured flash size ${opts.flashSize / mb}MB`,
      );
    }
  }
  if ((opts.requireApp ?? true) && !entries.some((p) => p.type === APP_TYPE)) {
    problems.push("The table has no app partition, so there is nothing to boot");
  }
  return problems;
}

/** Throws RsagenError E_BAD_PARTITIONS with the first problem (and how many more there are). */
export function validatePartitionTable(table: PartitionTable, opts: ValidateOptions = {}): void {
  const problems = listPartitionProblems(table, opts);
  if (problems.length === 0) return;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : "";
  throw partitionError(`${problems[0]}${more}`);
}

/**
 * The app partition the 2nd-stage bootloader starts when otadata is blank or absent: factory if
 * present, else the lowest OTA slot (ESP-IDF v5.5.5 bootloader_utility.c,
 * bootloader_utility_get_selected_boot_partition: "Defaulting to factory image" / "trying OTA 0").
 */
export function findBootPartition(table: PartitionTable): PartitionEntry | undefined {
  const apps = table.entries.filter((p) => p.type === APP_TYPE);
  return (
    apps.find((p) => p.subtype === 0x00) ??
    apps.filter((p) => p.subtype >= 0x10 && p.subtype < 0x20).sort((a, b) => a.subtype - b.subtype)[0]
  );
}
