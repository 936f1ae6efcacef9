/**
 * Small valid ESP images and a partition table for flash tests, built from the format facts
 * (ESP-IDF v5.5.5 docs/en/api-reference/system/app_image_format.rst): header, one segment, zero padding to 15 mod 16, checksum, SHA-256.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { PlanFile } from "../../../src/flash/plan.js";
import { encodePartitionTable, parsePartitionCsv } from "../../../src/partitions/index.js";
import { TARGETS, type TargetName } from "../../../src/targets.js";

export function makeImage(target: TargetName, payload: Uint8Array, loadAddr = 0x3c000020): Uint8Array {
  const segLen = payload.length;
  const end = 24 + 8 + segLen;
  const checksumEnd = (Math.floor(end / 16) + 1) * 16;
  const out = new Uint8Array(checksumEnd + 32);
  const v = new DataView(out.buffer);
  out[0] = 0xe9;
  out[1] = 1;
  out[2] = 2; // DIO
  out[3] = 0x20; // 4MB, 40m
  v.setUint32(4, loadAddr, true);
  out[8] = 0xee;
  v.setUint16(12, TARGETS[target].chipId, true);
  v.setUint16(17, 0xffff, true);
  out[23] = 1;
  v.setUint32(24, loadAddr, true);
  v.setUint32(28, segLen, true);
  out.set(payload, 32);
  let c = 0xef;
  for (const b of payload) c ^= b;
  out[checksumEnd - 1] = c;
  out.set(createHash("sha256").update(out.subarray(0, checksumEnd)).digest(), checksumEnd);
  return out;
}

const CSV = fileURLToPath(new URL("../../../partitions/rsagen.csv", import.meta.url));

export function partitionTable(): Uint8Array {
  return encodePartitionTable(parsePartitionCsv(readFileSync(CSV, "utf8")));
}

/** Bootloader, partition table and an app (random, incompressible payload of appSize bytes). */
export function buildFiles(target: TargetName, appSize = 64 * 1024): PlanFile[] {
  const t = TARGETS[target];
  return [
    {
      name: "bootloader.bin",
      role: "bootloader",
      offset: t.bootloaderOffset,
      data: makeImage(target, randomBytes(8 * 1024)),
    },
    { name: "partition-table.bin", role: "partition-table", offset: 0x8000, data: partitionTable() },
    { name: "rsagen.bin", role: "app", offset: 0x10000, data: makeImage(target, randomBytes(appSize)) },
  ];
}
