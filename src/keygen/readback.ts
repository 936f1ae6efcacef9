/**
 * Reading a key part back in READ chunks. Every frame carries a CRC-32 (a damaged frame is dropped
 * and the client resends the request); a chunk that comes back with the wrong length is asked for
 * again; the whole part must then match the SHA-256 the board reported with DONE, else it is read
 * once more from scratch. Up to `window` READs are in flight at once so the line never idles
 * between chunks (docs/protocol.md allows 4).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { RsagenError } from "../errors.js";
import { zeroize } from "../keys/zeroize.js";
import { type Board, isNoAnswer, type KeyPart, READ_MAX_CHUNK } from "./board.js";

export interface ReadbackOptions {
  window?: number;
  chunkRetries?: number;
  partRetries?: number;
  chunkSize?: number;
  /** Per-try READ timeout (scale it with the line rate). */
  readTimeoutMs?: number;
  onChunk?: (done: number, total: number) => void;
}

export interface ReadbackStats {
  chunkRetries: number;
  partRetries: number;
}

const PART_NAME: Record<KeyPart, string> = { priv: "private key", pub: "public key", out: "job output" };

interface Range {
  offset: number;
  length: number;
  tries: number;
}

/**
 * One pass over the part. A range that gets no answer (its request or its answer was damaged on
 * the line: the CRC drops the frame) is asked for again, split in two while it is longer than
 * MIN_SPLIT: on a noisy line a 1037-byte frame rarely arrives intact while small ones do.
 */
const MIN_SPLIT = 128;

async function readOnce(
  board: Board,
  part: KeyPart,
  total: number,
  opts: ReadbackOptions,
  stats: ReadbackStats,
): Promise<Buffer> {
  const size = opts.chunkSize ?? READ_MAX_CHUNK;
  const maxTries = opts.chunkRetries ?? 8;
  const out = Buffer.alloc(total);
  const queue: Range[] = [];
  for (let o = 0; o < total; o += size)
    queue.push({ offset: o, length: Math.min(size, total - o), tries: 0 });
  let inFlight = 0;
  let done = 0;
  let failure: RsagenError | undefined;
  const requestOpts = { retries: 0, ...(opts.readTimeoutMs ? { timeoutMs: opts.readTimeoutMs } : {}) };
  const worker = async (): Promise<void> => {
    for (;;) {
      const r = queue.shift();
      if (!r) {
        // Another worker may still requeue a failed range: wait for it before leaving.
        if (inFlight === 0 || failure) return;
        await new Promise((res) => setTimeout(res, 5));
        continue;
      }
      inFlight++;
      try {
        const data = await board.read(part, r.offset, r.length, requestOpts);
        if (data.length !== r.length) {
          throw new RsagenError(
            "E_DEVICE_PROTOCOL",
            `got ${data.length} bytes at offset ${r.offset}, wanted ${r.length}`,
          );
        }
        out.set(data, r.offset);
        zeroize(data);
        done += r.length;
        opts.onChunk?.(done, total);
      } catch (err) {
        const retryable = isNoAnswer(err) || (err instanceof RsagenError && err.code === "E_DEVICE_PROTOCOL");
        if (!retryable) {
          failure = err as RsagenError;
          throw err;
        }
        if (r.tries + 1 > maxTries) {
          failure = new RsagenError(
            "E_DEVICE_PROTOCOL",
            `reading the ${PART_NAME[part]} failed at offset ${r.offset} after ${maxTries} tries: ${(err as Error).message}`,
            "the line is too noisy: check the cable, or use a lower baud rate",
          );
          throw failure;
        }
        stats.chunkRetries++;
        if (r.length > MIN_SPLIT) {
          const half = Math.ceil(r.length / 2);
          queue.unshift(
            { offset: r.offset, length: half, tries: r.tries + 1 },
            { offset: r.offset + half, length: r.length - half, tries: r.tries + 1 },
          );
        } else {
          queue.unshift({ ...r, tries: r.tries + 1 });
        }
      } finally {
        inFlight--;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.window ?? 4, queue.length) }, worker));
  } catch (err) {
    zeroize(out);
    throw err;
  }
  return out;
}

/** Reads `total` bytes of `part` and checks them against `sha256`. The caller zeroizes the result. */
export async function readPart(
  board: Board,
  part: KeyPart,
  total: number,
  sha256: Uint8Array,
  opts: ReadbackOptions = {},
  stats: ReadbackStats = { chunkRetries: 0, partRetries: 0 },
): Promise<Buffer> {
  const tries = (opts.partRetries ?? 1) + 1;
  for (let attempt = 0; attempt < tries; attempt++) {
    if (attempt > 0) stats.partRetries++;
    const bytes = await readOnce(board, part, total, opts, stats);
    const digest = createHash("sha256").update(bytes).digest();
    if (digest.length === sha256.length && timingSafeEqual(digest, sha256)) return bytes;
    zeroize(bytes);
  }
  throw new RsagenError(
    "E_KEY_VERIFY_FAILED",
    `the ${PART_NAME[part]} read back does not match the SHA-256 the board reported (${tries} tries); nothing was written`,
    "the line corrupts data: check the cable, or use a lower baud rate",
  );
}
