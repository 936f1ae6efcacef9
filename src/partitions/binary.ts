/**
 * Partition table binary codec, byte-compatible with ESP-IDF v5.5.5 gen_esp32part.py.
 *
 * Entry (32 bytes, struct `<2sBBLL16sL`): magic AA 50, type u8, subtype u8, offset u32 LE,
 * size u32 LE, name 16 bytes NUL-padded, flags u32 LE (bit 0 encrypted, bit 1 readonly).
 * After the entries: optional MD5 row `EB EB` + 14 x FF + md5(all entry bytes), then FF up to
 * 0xC00 bytes. The reader stops at the first all-FF row and recognises the MD5 row by EB EB
 * alone (test/vectors/partitions, README "Facts the partition vectors show").
 */
import { createHash } from "node:crypto";
import { partitionError } from "./errors.js";
import {
  ENTRY_LENGTH,
  ENTRY_MAGIC,
  MD5_ROW_MAGIC,
  NAME_FIELD_LENGTH,
  PARTITION_FLAGS,
  type PartitionEntry,
  type PartitionTable,
  TABLE_BINARY_LENGTH,
} from "./types.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function encodeEntry(e: PartitionEntry): Uint8Array {
  const out = new Uint8Array(ENTRY_LENGTH);
  const dv = new DataView(out.buffer);
  const name = new TextEncoder().encode(e.name);
  if (name.length > NAME_FIELD_LENGTH) {
    throw partitionError(
      `Partition ${e.name} invalid: name is ${name.length} bytes long; the limit is ${NAME_FIELD_LENGTH}`,
    );
  }
  for (const [field, v, max] of [
    ["type", e.type, 0xff],
    ["subtype", e.subtype, 0xff],
    ["offset", e.offset, 0xffffffff],
    ["size", e.size, 0xffffffff],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw partitionError(`Partition ${e.name} invalid: ${field} ${v} does not fit its field`);
    }
  }
  out[0] = ENTRY_MAGIC[0];
  out[1] = ENTRY_MAGIC[1];
  out[2] = e.type;
  out[3] = e.subtype;
  dv.setUint32(4, e.offset, true);
  dv.setUint32(8, e.size, true);
  out.set(name, 12);
  const flags =
    (e.encrypted ? 1 << PARTITION_FLAGS.encrypted : 0) |
    (e.readonly ? 1 << PARTITION_FLAGS.readonly : 0) |
    e.unknownFlags;
  dv.setUint32(28, flags >>> 0, true);
  return out;
}

/** Encodes a table to the 0xC00-byte binary gen_esp32part writes. */
export function encodePartitionTable(table: PartitionTable): Uint8Array {
  const entries = table.entries.map(encodeEntry);
  const used = entries.length * ENTRY_LENGTH + (table.md5 ? ENTRY_LENGTH : 0);
  // gen_esp32part refuses len >= 0xC00, which keeps at least one all-FF end-marker row.
  if (used >= TABLE_BINARY_LENGTH) {
    throw partitionError(
      `Binary partition table length (${used}) longer than max`,
      `a table holds at most ${TABLE_BINARY_LENGTH / ENTRY_LENGTH - 1 - (table.md5 ? 1 : 0)} entries`,
    );
  }
  const out = new Uint8Array(TABLE_BINARY_LENGTH).fill(0xff);
  entries.forEach((e, i) => {
    out.set(e, i * ENTRY_LENGTH);
  });
  if (table.md5) {
    const body = out.subarray(0, entries.length * ENTRY_LENGTH);
    const md5Row = entries.length * ENTRY_LENGTH;
    out[md5Row] = MD5_ROW_MAGIC[0];
    out[md5Row + 1] = MD5_ROW_MAGIC[1];
    out.set(createHash("md5").update(body).digest(), md5Row + 16);
  }
  return out;
}

function decodeEntry(row: Uint8Array, index: number): { entry: PartitionEntry; warning?: string } {
  if (row[0] !== ENTRY_MAGIC[0] || row[1] !== ENTRY_MAGIC[1]) {
    throw partitionError(
      `Invalid magic bytes (0x${hex(row.subarray(0, 2))}) for partition definition ${index} at byte 0x${(index * ENTRY_LENGTH).toString(16)}; expected 0xaa50`,
      "the partition table binary is corrupt or is not a partition table",
    );
  }
  const dv = new DataView(row.buffer, row.byteOffset, row.byteLength);
  const nameField = row.subarray(12, 28);
  const nul = nameField.indexOf(0);
  let name: string;
  try {
    name = new TextDecoder("utf-8", { fatal: true }).decode(
      nul >= 0 ? nameField.subarray(0, nul) : nameField,
    );
  } catch {
    throw partitionError(`Partition definition ${index} has a name that is not valid UTF-8`);
  }
  let flags = dv.getUint32(28, true);
  const encrypted = (flags & (1 << PARTITION_FLAGS.encrypted)) !== 0;
  const readonly = (flags & (1 << PARTITION_FLAGS.readonly)) !== 0;
  flags &= ~((1 << PARTITION_FLAGS.encrypted) | (1 << PARTITION_FLAGS.readonly));
  const entry: PartitionEntry = {
    name,
    type: row[2]!,
    subtype: row[3]!,
    offset: dv.getUint32(4, true),
    size: dv.getUint32(8, true),
    encrypted,
    readonly,
    unknownFlags: flags >>> 0,
  };
  if (flags === 0) return { entry };
  return {
    entry,
    warning: `Partition definition had unknown flag(s) 0x${(flags >>> 0).toString(16).padStart(8, "0")}. Newer binary format?`,
  };
}

export interface DecodeOptions {
  /** Check the MD5 row (default true). When false the row is still recognised and skipped. */
  verifyMd5?: boolean;
}

export interface DecodedPartitionTable extends PartitionTable {
  /** Non-fatal findings (unknown flag bits), as gen_esp32part prints them. */
  warnings: string[];
}

/**
 * Decodes a partition table binary (any length that is a multiple of 32 and holds an end
 * marker, normally 0xC00 or the 0x1000 flash sector). Throws E_BAD_PARTITIONS on a bad magic,
 * an MD5 mismatch, a missing end marker or a length that is not a multiple of 32.
 */
export function decodePartitionTable(bytes: Uint8Array, opts: DecodeOptions = {}): DecodedPartitionTable {
  const verifyMd5 = opts.verifyMd5 ?? true;
  const md5 = createHash("md5");
  const entries: PartitionEntry[] = [];
  const warnings: string[] = [];
  let sawMd5 = false;
  for (let o = 0; o < bytes.length; o += ENTRY_LENGTH) {
    const row = bytes.subarray(o, o + ENTRY_LENGTH);
    if (row.length !== ENTRY_LENGTH) {
      throw partitionError(
        `Partition table length must be a multiple of 32 bytes (got ${bytes.length})`,
        "pass the whole table (0xC00 bytes) or the whole flash sector at its offset",
      );
    }
    if (row.every((b) => b === 0xff)) return { entries, md5: sawMd5, warnings };
    if (row[0] === MD5_ROW_MAGIC[0] && row[1] === MD5_ROW_MAGIC[1]) {
      const computed = md5.copy().digest();
      const stored = row.subarray(16);
      if (verifyMd5 && !Buffer.from(stored).equals(computed)) {
        throw partitionError(
          `MD5 checksums don't match! (computed: 0x${hex(computed)}, parsed: 0x${hex(stored)})`,
          "the partition table binary is corrupt; regenerate it from the CSV",
        );
      }
      sawMd5 = true;
      continue;
    }
    md5.update(row);
    const { entry, warning } = decodeEntry(row, entries.length);
    entries.push(entry);
    if (warning) warnings.push(warning);
  }
  throw partitionError(
    "Partition table is missing an end-of-table marker",
    "a table must end with a 32-byte row of 0xFF",
  );
}

/** gen_esp32part's binary-vs-CSV sniff: the input starts with the entry magic AA 50. */
export function looksLikePartitionBinary(bytes: Uint8Array): boolean {
  return bytes[0] === ENTRY_MAGIC[0] && bytes[1] === ENTRY_MAGIC[1];
}
