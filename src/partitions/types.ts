/**
 * Partition table model and the names gen_esp32part.py knows.
 *
 * Facts from ESP-IDF v5.5.5 `components/partition_table/gen_esp32part.py` (script version 1.5) and
 * `docs/en/api-guides/partition-tables.rst`; checked against test/vectors/partitions.
 */

/** Where the table lives in flash (CONFIG_PARTITION_TABLE_OFFSET default). */
export const DEFAULT_TABLE_OFFSET = 0x8000;
/** The table occupies one 4 KiB sector; the first partition may start right after it. */
export const TABLE_SECTOR_SIZE = 0x1000;
/** gen_esp32part writes exactly this many bytes (entries, MD5 row, 0xFF padding). */
export const TABLE_BINARY_LENGTH = 0xc00;
export const ENTRY_LENGTH = 32;
export const ENTRY_MAGIC = [0xaa, 0x50] as const;
export const MD5_ROW_MAGIC = [0xeb, 0xeb] as const;
/** Name field width; a 16-byte name fills it without a NUL. */
export const NAME_FIELD_LENGTH = 16;

export const PARTITION_TYPES = {
  bootloader: 0x02,
  partition_table: 0x03,
  app: 0x00,
  data: 0x01,
} as const;
export const APP_TYPE = 0x00;
export const DATA_TYPE = 0x01;
export const BOOTLOADER_TYPE = 0x02;
export const PARTITION_TABLE_TYPE = 0x03;

function appSubtypes(): Record<string, number> {
  const m: Record<string, number> = { factory: 0x00, test: 0x20 };
  for (let i = 0; i < 16; i++) m[`ota_${i}`] = 0x10 + i;
  for (let i = 0; i < 2; i++) m[`tee_${i}`] = 0x30 + i;
  return m;
}

/** Subtype names per type, in gen_esp32part's dict order (the bin->csv writer picks the first match). */
export const PARTITION_SUBTYPES: Record<number, Record<string, number>> = {
  [BOOTLOADER_TYPE]: { primary: 0x00, ota: 0x01, recovery: 0x02 },
  [PARTITION_TABLE_TYPE]: { primary: 0x00, ota: 0x01 },
  [APP_TYPE]: appSubtypes(),
  [DATA_TYPE]: {
    ota: 0x00,
    phy: 0x01,
    nvs: 0x02,
    coredump: 0x03,
    nvs_keys: 0x04,
    efuse: 0x05,
    undefined: 0x06,
    esphttpd: 0x80,
    fat: 0x81,
    spiffs: 0x82,
    littlefs: 0x83,
    tee_ota: 0x90,
  },
};

/** Flag bits of the entry's u32 flags word. */
export const PARTITION_FLAGS = { encrypted: 0, readonly: 1 } as const;
export type PartitionFlagName = keyof typeof PARTITION_FLAGS;

export interface PartitionEntry {
  name: string;
  type: number;
  subtype: number;
  offset: number;
  size: number;
  encrypted: boolean;
  readonly: boolean;
  /** Flag bits this version does not know, kept so a decoded table re-encodes identically. */
  unknownFlags: number;
  /** 1-based CSV line the entry came from, when it came from CSV. */
  line?: number;
}

export interface PartitionTable {
  entries: PartitionEntry[];
  /** Whether the binary carries (or should carry) the EB EB MD5 row. */
  md5: boolean;
}

/** Offset alignment per type: app 64 KiB, everything else 4 KiB (gen_esp32part ALIGNMENT). */
export function offsetAlignment(type: number): number {
  return type === APP_TYPE ? 0x10000 : 0x1000;
}

/** Size alignment: app partitions 4 KiB (without secure boot v1), others none. */
export function sizeAlignment(type: number): number {
  return type === APP_TYPE ? 0x1000 : 1;
}

export function typeName(type: number): string | undefined {
  for (const [k, v] of Object.entries(PARTITION_TYPES)) if (v === type) return k;
  return undefined;
}

export function subtypeName(type: number, subtype: number): string | undefined {
  const names = PARTITION_SUBTYPES[type];
  if (!names) return undefined;
  for (const [k, v] of Object.entries(names)) if (v === subtype) return k;
  return undefined;
}
