/**
 * Canonical CSV text of a table, identical to what ESP-IDF v5.5.5 gen_esp32part.py writes when
 * converting a binary to CSV (checked against test/vectors/partitions/*.roundtrip.csv): two
 * header comment lines, no spaces, offsets in hex, sizes as M/K when divisible, type/subtype
 * names where known and decimal numbers otherwise, flags joined by `:`, LF line ends.
 */
import { PARTITION_FLAGS, type PartitionEntry, type PartitionTable, subtypeName, typeName } from "./types.js";

function formatSize(n: number): string {
  if (n % 0x100000 === 0) return `${n / 0x100000}M`;
  if (n % 0x400 === 0) return `${n / 0x400}K`;
  return `0x${n.toString(16)}`;
}

function flagsText(e: PartitionEntry): string {
  const names: string[] = [];
  for (const flag of Object.keys(PARTITION_FLAGS) as (keyof typeof PARTITION_FLAGS)[]) {
    if (e[flag]) names.push(flag);
  }
  return names.join(":");
}

export function partitionEntryToCsvRow(e: PartitionEntry): string {
  return [
    e.name,
    typeName(e.type) ?? String(e.type),
    subtypeName(e.type, e.subtype) ?? String(e.subtype),
    `0x${e.offset.toString(16)}`,
    formatSize(e.size),
    flagsText(e),
  ].join(",");
}

export function partitionTableToCsv(table: PartitionTable): string {
  const rows = ["# ESP-IDF Partition Table", "# Name, Type, SubType, Offset, Size, Flags"];
  for (const e of table.entries) rows.push(partitionEntryToCsvRow(e));
  return `${rows.join("\n")}\n`;
}
