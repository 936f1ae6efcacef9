/** Classifies load addresses by a target's memory map (src/targets.ts). */
import { TARGETS, type TargetName } from "../targets.js";
import type { SegmentKind } from "./format.js";

const inRange = (r: { start: number; end: number }, a: number) => a >= r.start && a < r.end;

/**
 * Flash-mapped (through the cache MMU): in the target's DROM or IROM window. This is esptool's
 * `is_flash_addr` (IROM_MAP / DROM_MAP ranges); such segments must sit at file offsets that match
 * their address modulo 64 KiB.
 */
export function isFlashMapped(target: TargetName, addr: number): boolean {
  const m = TARGETS[target].memory;
  return inRange(m.drom, addr) || inRange(m.irom, addr);
}

/** Kind of memory a segment loads into; `padding` is elf2image's filler with load address 0. */
export function segmentKind(target: TargetName, addr: number): SegmentKind {
  if (addr === 0) return "padding";
  const m = TARGETS[target].memory;
  if (inRange(m.drom, addr)) return "drom";
  if (inRange(m.irom, addr)) return "irom";
  if (inRange(m.dram, addr)) return "dram";
  if (inRange(m.iram, addr)) return "iram";
  return "unknown";
}
