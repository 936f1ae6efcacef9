/**
 * A scripted peer that plays the chip's side of a recorded ROM session: every frame the client
 * writes must be byte-identical (raw SLIP bytes, escapes included) to a frame esptool wrote in that
 * session, and the peer answers with exactly the frames the real ROM sent after it (from the
 * relay's wire capture, so the 7 replies esptool drained silently are replayed too).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FlashPort, Signals } from "../../../src/flash/port.js";

export const TRANSCRIPTS = fileURLToPath(new URL("../../vectors/rom-transcripts/", import.meta.url));

interface WireFrame {
  dir: "host->chip" | "chip->host";
  frame: string;
  packet: string;
}

interface Exchange {
  host: string;
  replies: string[];
  used: boolean;
}

export function loadWire(name: string): WireFrame[] {
  const j = JSON.parse(readFileSync(`${TRANSCRIPTS}${name}.wire.json`, "utf8")) as { frames: WireFrame[] };
  return j.frames;
}

export class ScriptedRomPort implements FlashPort {
  readonly description: string;
  readonly baud = 115200;
  /** Raw frames (hex) the client wrote, in order. */
  readonly written: string[] = [];
  /** Client frames esptool never sent in this session. */
  readonly unknown: string[] = [];
  private readonly exchanges: Exchange[] = [];
  private pending = "";
  private dataListeners = new Set<(c: Uint8Array) => void>();
  private closeListeners = new Set<(e?: Error) => void>();

  constructor(readonly session: string) {
    this.description = `scripted:${session}`;
    let cur: Exchange | undefined;
    for (const f of loadWire(session)) {
      if (f.dir === "host->chip") {
        cur = { host: f.frame, replies: [], used: false };
        this.exchanges.push(cur);
      } else if (cur) cur.replies.push(f.frame);
    }
  }

  /** esptool's frames in order (for comparing subsequences). */
  get esptoolFrames(): string[] {
    return this.exchanges.map((e) => e.host);
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.pending += Buffer.from(bytes).toString("hex");
    // Client writes are whole frames c0...c0; split defensively on the closing delimiter.
    for (;;) {
      const m = /^c0((?:(?!c0)[0-9a-f]{2})*)c0/.exec(this.pending);
      if (!m) break;
      const frame = m[0];
      this.pending = this.pending.slice(frame.length);
      this.onFrame(frame);
    }
  }

  private onFrame(frame: string): void {
    this.written.push(frame);
    const ex =
      this.exchanges.find((e) => !e.used && e.host === frame) ??
      [...this.exchanges].reverse().find((e) => e.host === frame);
    if (!ex) {
      this.unknown.push(frame);
      return;
    }
    ex.used = true;
    // Deliver replies asynchronously and split each frame in two, as the wire capture shows the
    // ROM's bytes arriving in pieces.
    const bytes = ex.replies.map((h) => Buffer.from(h, "hex"));
    setImmediate(() => {
      for (const b of bytes) {
        const cut = Math.max(1, b.length >> 1);
        this.emit(b.subarray(0, cut));
        this.emit(b.subarray(cut));
      }
    });
  }

  private emit(chunk: Uint8Array): void {
    for (const l of this.dataListeners) l(new Uint8Array(chunk));
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.dataListeners.add(listener);
    return () => this.dataListeners.delete(listener);
  }

  onClose(listener: (err?: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  async setSignals(_s: Signals): Promise<void> {}
  async setBaud(_b: number): Promise<void> {}
}

/** The op byte of a raw SLIP request frame (hex), after un-escaping the first bytes. */
export function frameOp(frameHex: string): number {
  const b = Buffer.from(frameHex, "hex");
  return b[2]!;
}
