/**
 * Writing the plan's regions through any loader: MD5 first (skip what already matches), write,
 * then MD5 again; a region is reported done only when the board's MD5 equals the file's.
 */
import { RsagenError } from "../errors.js";
import type { FlashEvent } from "./events.js";
import type { Region } from "./plan.js";

/** The three operations region writing needs; the ROM loader and the esptool-js stub path provide them. */
export interface RegionWriter {
  md5(offset: number, size: number): Promise<string>;
  write(
    offset: number,
    data: Uint8Array,
    onProgress: (written: number) => void,
  ): Promise<{ wireBytes: number }>;
}

export interface RegionResult {
  name: string;
  offset: number;
  size: number;
  skipped: boolean;
  md5: string;
  seconds: number;
  wireBytes: number;
  /** Effective rate: region bytes (uncompressed) per second, in kbit/s. */
  kbitPerSec: number;
}

const PROGRESS_EVERY_MS = 200;

export async function writeRegions(
  writer: RegionWriter,
  regions: Region[],
  opts: { skip: boolean; onEvent?: ((e: FlashEvent) => void) | undefined },
): Promise<RegionResult[]> {
  const results: RegionResult[] = [];
  const emit = opts.onEvent ?? (() => {});
  for (const r of regions) {
    const size = r.data.length;
    if (opts.skip) {
      const current = await writer.md5(r.offset, size);
      if (current === r.md5) {
        emit({ event: "region-skip", name: r.name, offset: r.offset, size, md5: r.md5 });
        results.push({
          name: r.name,
          offset: r.offset,
          size,
          skipped: true,
          md5: r.md5,
          seconds: 0,
          wireBytes: 0,
          kbitPerSec: 0,
        });
        continue;
      }
    }
    emit({ event: "region-start", name: r.name, offset: r.offset, size });
    const t0 = performance.now();
    let lastEmit = 0;
    const rate = (bytes: number) => {
      const s = (performance.now() - t0) / 1000;
      return s > 0 ? Math.round((bytes * 8) / 1000 / s) : 0;
    };
    const { wireBytes } = await writer.write(r.offset, r.data, (written) => {
      const now = performance.now();
      if (written < size && now - lastEmit < PROGRESS_EVERY_MS) return;
      lastEmit = now;
      emit({
        event: "progress",
        name: r.name,
        offset: r.offset,
        written,
        total: size,
        percent: Math.floor((written * 100) / size),
        kbitPerSec: rate(written),
      });
    });
    const seconds = (performance.now() - t0) / 1000;
    const got = await writer.md5(r.offset, size);
    if (got !== r.md5) {
      throw new RsagenError(
        "E_VERIFY_FAILED",
        `verify failed for ${r.name} at 0x${r.offset.toString(16)}: flash MD5 ${got}, file MD5 ${r.md5}`,
        "flash again; if it keeps failing, lower --baud, try --no-stub, or the flash chip may be worn or write-protected",
      );
    }
    const result: RegionResult = {
      name: r.name,
      offset: r.offset,
      size,
      skipped: false,
      md5: got,
      seconds,
      wireBytes,
      kbitPerSec: rate(size),
    };
    emit({ event: "region-done", ...result });
    results.push(result);
  }
  return results;
}
