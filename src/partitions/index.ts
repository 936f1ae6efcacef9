/** Partition tables: gen_esp32part-compatible CSV parser/writer, binary codec, validation. */
export {
  type DecodedPartitionTable,
  type DecodeOptions,
  decodePartitionTable,
  encodePartitionTable,
  looksLikePartitionBinary,
} from "./binary.js";
export { type ParseCsvOptions, parsePartitionCsv } from "./csv-parse.js";
export { partitionEntryToCsvRow, partitionTableToCsv } from "./csv-write.js";
export * from "./types.js";
export {
  findBootPartition,
  listPartitionProblems,
  type ValidateOptions,
  validatePartitionTable,
} from "./validate.js";
