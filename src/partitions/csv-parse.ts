/**
 * Partition CSV parser, compatible with ESP-IDF v5.5.5 gen_esp32part.py (CSV -> table):
 * `Name, Type, SubType, Offset, Size, Flags`, `#` comment lines, blank offsets placed after the
 * previous partition (first one right after the table sector, 0x9000 for the default 0x8000),
 * aligned to 0x10000 for app and 0x1000 for everything else; numbers as Python `int(x, 0)` with
 * optional K/M suffix; type/subtype by name or number; flags `encrypted`, `readonly` joined by `:`.
 *
 * Stricter than the script where it silently does the wrong thing: a name longer than 16 bytes is
 * an error here (the script truncates it to 16 bytes).
 */
import { partitionError } from "./errors.js";
import {
  APP_TYPE,
  BOOTLOADER_TYPE,
  DATA_TYPE,
  DEFAULT_TABLE_OFFSET,
  NAME_FIELD_LENGTH,
  offsetAlignment,
  PARTITION_FLAGS,
  PARTITION_SUBTYPES,
  PARTITION_TABLE_TYPE,
  PARTITION_TYPES,
  type PartitionEntry,
  type PartitionFlagName,
  type PartitionTable,
  TABLE_SECTOR_SIZE,
} from "./types.js";

export interface ParseCsvOptions {
  /** Partition table offset (gen_esp32part --offset), default 0x8000. */
  tableOffset?: number;
  /** Needed only for `bootloader, primary` rows (gen_esp32part --primary-bootloader-offset). */
  primaryBootloaderOffset?: number;
  /** Needed only for `bootloader, recovery` rows. */
  recoveryBootloaderOffset?: number;
  /** Values for `$VAR` / `${VAR}` references (gen_esp32part expands environment variables). */
  env?: Record<string, string | undefined>;
  /** Emit the MD5 row when encoding (gen_esp32part default; --disable-md5sum turns it off). */
  md5?: boolean;
}

class LineError extends Error {}

const PY_INT =
  /^[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?0)*|[1-9](?:_?[0-9])*)$/;

/** Python `int(v, 0)`: decimal without leading zeros, 0x/0o/0b prefixes, `_` between digits. */
function pythonInt(v: string): number | undefined {
  const s = v.trim();
  if (!PY_INT.test(s)) return undefined;
  const neg = s.startsWith("-");
  const body = s.replace(/^[+-]/, "").replaceAll("_", "");
  let n: number;
  if (/^0[xX]/.test(body)) n = Number.parseInt(body.slice(2), 16);
  else if (/^0[oO]/.test(body)) n = Number.parseInt(body.slice(2), 8);
  else if (/^0[bB]/.test(body)) n = Number.parseInt(body.slice(2), 2);
  else n = Number.parseInt(body, 10);
  return neg ? -n : n;
}

/** gen_esp32part parse_int: K/M suffixes (x1024, x1024^2), then int(x, 0), then keyword lookup. */
function parseNumber(v: string, keywords: Record<string, number> = {}): number {
  const lower = v.toLowerCase();
  for (const [suffix, mult] of [
    ["k", 1024],
    ["m", 1024 * 1024],
  ] as const) {
    if (lower.endsWith(suffix)) return parseNumber(v.slice(0, -1), keywords) * mult;
  }
  const n = pythonInt(v);
  if (n !== undefined) return n;
  if (Object.keys(keywords).length === 0) throw new LineError(`Invalid field value ${v}`);
  const k = keywords[lower];
  if (k === undefined) {
    throw new LineError(`Value '${v}' is not valid. Known keywords: ${Object.keys(keywords).join(", ")}`);
  }
  return k;
}

function expandVars(line: string, env: Record<string, string | undefined>): string {
  return line.replace(
    /(?<!\\)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, braced, bare) => {
      const name = (braced ?? bare) as string;
      const value = env[name];
      if (value === undefined) throw new LineError(`unknown variable '${name}'`);
      return value;
    },
  );
}

/** Python str.splitlines() line boundaries. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

interface RawRow {
  entry: PartitionEntry;
  offsetGiven: boolean;
}

function parseRow(line: string, lineNo: number, opts: ParseCsvOptions): RawRow {
  const fields = `${line},,,,`.split(",").map((f) => f.trim());
  const [name, typeField, subtypeField, offsetField, sizeField, flagsField] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const nameBytes = new TextEncoder().encode(name).length;
  if (nameBytes === 0) throw new LineError("Name field can't be empty");
  if (nameBytes > NAME_FIELD_LENGTH) {
    throw new LineError(
      `Name '${name}' is ${nameBytes} bytes long; the limit is ${NAME_FIELD_LENGTH} (15 characters + NUL, or exactly 16)`,
    );
  }
  if (typeField === "") throw new LineError("Field 'type' can't be left empty.");
  const type = parseNumber(typeField, PARTITION_TYPES);
  if (!Number.isInteger(type) || type < 0 || type > 0xfe) {
    throw new LineError(`Type ${typeField} is out of range (0x00-0xfe)`);
  }
  let subtype: number;
  if (subtypeField === "") {
    if (type === APP_TYPE) throw new LineError("App partition cannot have an empty subtype");
    subtype = PARTITION_SUBTYPES[DATA_TYPE]!.undefined!;
  } else {
    subtype = parseNumber(subtypeField, PARTITION_SUBTYPES[type] ?? {});
  }
  if (!Number.isInteger(subtype) || subtype < 0 || subtype > 0xff) {
    throw new LineError(`SubType ${subtypeField} is out of range (0x00-0xff)`);
  }

  const tableOffset = opts.tableOffset ?? DEFAULT_TABLE_OFFSET;
  let offset: number | undefined;
  let size: number | undefined;
  const primaryBoot = type === BOOTLOADER_TYPE && subtype === 0x00;
  const recoveryBoot = type === BOOTLOADER_TYPE && subtype === 0x02;
  if (type === BOOTLOADER_TYPE) {
    if (opts.primaryBootloaderOffset === undefined) {
      throw new LineError("Primary bootloader offset is not defined. Please use --primary-bootloader-offset");
    }
    size = tableOffset - opts.primaryBootloaderOffset;
  } else if (type === PARTITION_TABLE_TYPE) {
    size = TABLE_SECTOR_SIZE;
  } else if (sizeField !== "") {
    size = parseNumber(sizeField);
  }
  if (primaryBoot) {
    offset = opts.primaryBootloaderOffset;
  } else if (recoveryBoot) {
    if (opts.recoveryBootloaderOffset === undefined) {
      throw new LineError(
        "Recovery bootloader offset is not defined. Please use --recovery-bootloader-offset",
      );
    }
    offset = opts.recoveryBootloaderOffset;
  } else if (type === PARTITION_TABLE_TYPE && subtype === 0x00) {
    offset = tableOffset;
  } else if (offsetField !== "") {
    offset = parseNumber(offsetField);
  }
  if (size === undefined) throw new LineError("Size field can't be empty");

  let encrypted = false;
  let readonly = false;
  for (const flag of flagsField.split(":")) {
    if (flag === "") continue;
    if (!(flag in PARTITION_FLAGS)) throw new LineError(`CSV flag column contains unknown flag '${flag}'`);
    if ((flag as PartitionFlagName) === "encrypted") encrypted = true;
    else readonly = true;
  }
  return {
    entry: {
      name,
      type,
      subtype,
      offset: offset ?? -1,
      size,
      encrypted,
      readonly,
      unknownFlags: 0,
      line: lineNo,
    },
    offsetGiven: offset !== undefined,
  };
}

/**
 * Parses a partition CSV into a table with every offset filled in. Throws RsagenError
 * E_BAD_PARTITIONS ("Error at line N: ...") on the first bad row. Call validatePartitionTable()
 * afterwards for the table-wide checks gen_esp32part runs by default.
 */
export function parsePartitionCsv(text: string, opts: ParseCsvOptions = {}): PartitionTable {
  const env = opts.env ?? {};
  const lines = text.replace(/^\uFEFF/, "").split(LINE_BREAK);
  // splitlines() drops the empty piece after a final line break; blank lines are skipped anyway.
  const rows: RawRow[] = [];
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    try {
      const line = expandVars(raw, env).trim();
      if (line.startsWith("#") || line.length === 0) return;
      rows.push(parseRow(line, lineNo, opts));
    } catch (err) {
      if (err instanceof LineError) {
        throw partitionError(
          `Error at line ${lineNo}: ${err.message}`,
          "fix that row of the partition CSV (columns: Name, Type, SubType, Offset, Size, Flags)",
        );
      }
      throw err;
    }
  });

  // Place blank offsets and check explicit ones against the previous row's end, as the script does
  // (regardless of --no-verify). Primary bootloader/partition-table rows do not take part.
  const tableOffset = opts.tableOffset ?? DEFAULT_TABLE_OFFSET;
  let lastEnd = tableOffset + TABLE_SECTOR_SIZE;
  rows.forEach((row, i) => {
    const e = row.entry;
    const primary = (e.type === BOOTLOADER_TYPE || e.type === PARTITION_TABLE_TYPE) && e.subtype === 0x00;
    if (primary) return;
    if (row.offsetGiven && e.offset < lastEnd) {
      const msg =
        i === 0
          ? `CSV Error at line ${e.line}: Partitions overlap. Partition sets offset 0x${e.offset.toString(16)}. ` +
            `But partition table occupies the whole sector 0x${tableOffset.toString(16)}. ` +
            `Use a free offset 0x${lastEnd.toString(16)} or higher.`
          : `CSV Error at line ${e.line}: Partitions overlap. Partition sets offset 0x${e.offset.toString(16)}. ` +
            `Previous partition ends 0x${lastEnd.toString(16)}`;
      throw partitionError(msg, "rows with explicit offsets must be in ascending order and must not overlap");
    }
    if (!row.offsetGiven) {
      const align = offsetAlignment(e.type);
      if (lastEnd % align !== 0) lastEnd += align - (lastEnd % align);
      e.offset = lastEnd;
    }
    // A negative size means "up to this end offset" in gen_esp32part.
    if (e.size < 0) e.size = -e.size - e.offset;
    lastEnd = e.offset + e.size;
  });

  return { entries: rows.map((r) => r.entry), md5: opts.md5 ?? true };
}
