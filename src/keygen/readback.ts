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
import { type Board, isNoAnswer, KeyPart, type KeyPartValue, READ_MAX_CHUNK } from "./board.js";

export interface ReadbackOptions {
  window?: number;
  chunkRetries?: number;
  partRetries?: number;
  chunkSize?: number;
  onChunk?: (done: number, total: number) => void;
}

export interface ReadbackStats {
  chunkRetries: number;
  partRetries: number;
}

const PART_NAME: Record<KeyPartValue, string> = {
  [KeyPart.PRIVATE]: "private key",
  [KeyPart.PUBLIC]: "public key",
};

async function readChunk(
  board: Board,
  part: KeyPartValue,
  offset: number,
  length: number,
  retries: number,
  stats: ReadbackStats,
): Promise<Uint8Array> {
  let last = "";
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) stats.chunkRetries++;
    try {
      const data = await board.read(part, offset, length);
      if (data.length === length) return data;
      last = `got ${data.length} bytes at offset ${offset}, wanted ${length}`;
    } catch (err) {
      // No answer after the client's own resends: try the chunk again; anything else is final.
      if (!isNoAnswer(err)) throw err;
      last = err.message;
    }
  }
  throw new RsagenError(
    "E_DEVICE_PROTOCOL",
    `reading the ${PART_NAME[part]} failed at offset ${offset}: ${last}`,
    "the line is too noisy: check the cable, or use a lower baud rate",
  );
}

async function readOnce(
  board: Board,
  part: KeyPartValue,
  total: number,
  opts: ReadbackOptions,
  stats: ReadbackStats,
): Promise<Buffer> {
  const size = opts.chunkSize ?? READ_MAX_CHUNK;
  const out = Buffer.alloc(total);
  const offsets: number[] = [];
  for (let o = 0; o < total; o += size) offsets.push(o);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < offsets.length) {
      const off = offsets[next++]!;
      const len = Math.min(size, total - off);
      const data = await readChunk(board, part, off, len, opts.chunkRetries ?? 3, stats);
      out.set(data, off);
      zeroize(data);
      done += len;
      opts.onChunk?.(done, total);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.window ?? 4, offsets.length) }, worker));
  } catch (err) {
    zeroize(out);
    throw err;
  }
  return out;
}

/** Reads `total` bytes of `part` and checks them against `sha256`. The caller zeroizes the result. */
export async function readPart(
  board: Board,
  part: KeyPartValue,
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
