/**
 * The project's partition table as a build sees it: parsed and validated by the codecs in
 * src/partitions (offset alignment, overlaps, fits the flash chosen in sdkconfig), plus the app
 * partition the bootloader will start. Runs before anything is written.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { RsagenError } from "../errors.js";
import {
  encodePartitionTable,
  findBootPartition,
  type PartitionEntry,
  type PartitionTable,
  parsePartitionCsv,
  validatePartitionTable,
} from "../partitions/index.js";
import { type DefaultsEntry, effectiveFlashSize, effectiveString } from "./sdkconfig.js";

export interface ProjectPartitions {
  csvPath: string;
  table: PartitionTable;
  tableOffset: number;
  app: PartitionEntry;
  flashSize: { bytes: number; name: string };
}

/** Reads the CSV named by CONFIG_PARTITION_TABLE_CUSTOM_FILENAME (relative to firmware/). */
export function loadProjectPartitions(
  projectRoot: string,
  effective: Map<string, DefaultsEntry>,
): ProjectPartitions {
  const name = effectiveString(effective, "PARTITION_TABLE_CUSTOM_FILENAME") ?? "../partitions/rsagen.csv";
  const csvPath = resolve(projectRoot, "firmware", name);
  const offRaw = effective.get("PARTITION_TABLE_OFFSET");
  const tableOffset = offRaw && offRaw.value.kind === "raw" ? Number(offRaw.value.value) : 0x8000;
  const flashSize = effectiveFlashSize(effective);
  let text: string;
  try {
    text = readFileSync(csvPath, "utf8");
  } catch (err) {
    throw new RsagenError(
      "E_BAD_PARTITIONS",
      `cannot read the partition table ${csvPath}: ${(err as Error).message}`,
      "check CONFIG_PARTITION_TABLE_CUSTOM_FILENAME in sdkconfig/common.defaults",
    );
  }
  const table = parsePartitionCsv(text, { tableOffset });
  try {
    validatePartitionTable(table, { tableOffset, flashSize: flashSize.bytes });
  } catch (err) {
    if (err instanceof RsagenError) {
      throw new RsagenError(err.code, `${csvPath}: ${err.message} (flash ${flashSize.name})`, err.hint);
    }
    throw err;
  }
  const app = findBootPartition(table);
  if (!app)
    throw new RsagenError(
      "E_BAD_PARTITIONS",
      `${csvPath}: no app partition to boot`,
      "add a factory app partition",
    );
  return { csvPath, table, tableOffset, app, flashSize };
}

export function partitionTableBinary(p: ProjectPartitions): Uint8Array {
  return encodePartitionTable(p.table);
}
