/**
 * The wire between host and chip: line faults for tests (noise, bit flips, dropped bytes; seeded so
 * a failing test can be replayed) and pacing of host->chip bytes at baud/10 bytes per second
 * (8N1: 10 bit times per byte). Chip->host pacing is done by the RFC 2217 server.
 */
import { z } from "zod";

export const lineFaultsSchema = z.strictObject({
  /** Probability per byte that a random extra byte is inserted after it. */
  noiseRate: z.number().min(0).max(1).default(0),
  /** Probability per byte that one random bit is flipped. */
  bitFlipRate: z.number().min(0).max(1).default(0),
  /** Probability per byte that it is lost. */
  dropRate: z.number().min(0).max(1).default(0),
  /** Which direction the faults hit. */
  direction: z.enum(["both", "to-chip", "from-chip"]).default("both"),
  seed: z.number().int().default(1),
});
export type LineFaults = z.output<typeof lineFaultsSchema>;

/** mulberry32: small deterministic PRNG, enough for fault injection. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultyLine {
  private readonly rnd: () => number;
  constructor(private readonly f: LineFaults) {
    this.rnd = prng(f.seed);
  }

  get active(): boolean {
    return this.f.noiseRate > 0 || this.f.bitFlipRate > 0 || this.f.dropRate > 0;
  }

  apply(bytes: Uint8Array, dir: "to-chip" | "from-chip"): Uint8Array {
    if (!this.active || (this.f.direction !== "both" && this.f.direction !== dir)) return bytes;
    const out: number[] = [];
    for (const b of bytes) {
      if (this.rnd() < this.f.dropRate) continue;
      let v = b;
      if (this.rnd() < this.f.bitFlipRate) v ^= 1 << Math.floor(this.rnd() * 8);
      out.push(v);
      if (this.rnd() < this.f.noiseRate) out.push(Math.floor(this.rnd() * 256));
    }
    return Uint8Array.from(out);
  }
}

/** Delivers bytes no faster than baud/10 per second. */
export class Pacer {
  private queue: Uint8Array[] = [];
  private timer: NodeJS.Timeout | undefined;
  private start = 0;
  private sent = 0;

  constructor(
    private baud: number,
    private readonly deliver: (bytes: Uint8Array) => void,
  ) {}

  setBaud(baud: number): void {
    this.baud = baud;
    this.start = performance.now();
    this.sent = 0;
  }

  push(bytes: Uint8Array): void {
    this.queue.push(bytes);
    if (!this.timer) {
      this.start = performance.now();
      this.sent = 0;
      this.pump();
    }
  }

  clear(): void {
    this.queue = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    this.timer = undefined;
    const due = Math.floor(((performance.now() - this.start) / 1000) * (this.baud / 10)) - this.sent;
    let budget = Math.max(due, 1);
    while (budget > 0 && this.queue.length > 0) {
      const head = this.queue[0]!;
      const n = Math.min(budget, head.length);
      this.deliver(head.subarray(0, n));
      this.sent += n;
      budget -= n;
      if (n === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(n);
    }
    if (this.queue.length > 0) this.timer = setTimeout(() => this.pump(), 2);
  }
}
