/**
 * Drives a running rsagen-fw over its stdin/stdout console with the protocol codec of
 * src/device/frame.ts: collects frames and console text, and waits for answers and events.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import { encodeFrame, type Frame, FrameDecoder, RESPONSE_FLAG } from "../../src/device/frame.js";
import { ERROR_RESPONSE_TYPE, EventType, MsgType } from "../../src/device/messages.js";

/** Frame types from the TypeScript codec; ERROR as the device sends it (0x7f | RESPONSE_FLAG). */
export const T = { ...MsgType, ...EventType, ERROR: ERROR_RESPONSE_TYPE } as const;

export class FwProcess {
  readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly frames: Frame[] = [];
  text = "";
  private readonly decoder = new FrameDecoder();
  private nextId = 1;
  private waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(exe: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(exe, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    this.child.stdout.on("data", (chunk: Buffer) => {
      for (const item of this.decoder.push(new Uint8Array(chunk))) {
        if (item.kind === "frame") this.frames.push(item);
        else this.text += Buffer.from(item.bytes).toString("latin1");
      }
      this.wake();
    });
    this.child.stderr.on("data", (chunk: Buffer) => {
      this.text += chunk.toString("latin1");
    });
    this.child.stdin.on("error", () => {}); // the process may exit (watchdog) while we write
    this.exited = new Promise((res) => this.child.on("exit", (code) => res(code)));
    this.exited.then(() => this.wake());
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until<R>(pick: () => R | undefined, timeoutMs: number, what: string): Promise<R> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = pick();
      if (r !== undefined) return r;
      if (this.child.exitCode !== null)
        throw new Error(`rsagen-fw exited (${this.child.exitCode}) waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${what}; console:\n${this.text.slice(-2000)}`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  write(bytes: Uint8Array): void {
    this.child.stdin.write(bytes);
  }

  send(type: number, payload: Uint8Array = new Uint8Array(0), version?: number): number {
    const id = this.nextId++;
    this.write(encodeFrame(type, id, payload, version === undefined ? {} : { version }));
    return id;
  }

  /** Sends a request and waits for its response (or ERROR). */
  async request(type: number, payload?: Uint8Array, timeoutMs = 10_000): Promise<Frame> {
    const id = this.send(type, payload);
    return this.answer(id, timeoutMs);
  }

  answer(id: number, timeoutMs = 10_000): Promise<Frame> {
    return this.until(
      () => {
        const i = this.frames.findIndex((f) => f.requestId === id && (f.type & RESPONSE_FLAG) !== 0);
        return i < 0 ? undefined : this.frames.splice(i, 1)[0];
      },
      timeoutMs,
      `answer to request ${id}`,
    );
  }

  event(type: number, timeoutMs = 10_000): Promise<Frame> {
    return this.until(
      () => {
        const i = this.frames.findIndex((f) => f.requestId === 0 && f.type === type);
        return i < 0 ? undefined : this.frames.splice(i, 1)[0];
      },
      timeoutMs,
      `event 0x${type.toString(16)}`,
    );
  }

  async close(): Promise<number | null> {
    this.child.stdin.end();
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

export function keygenPayload(bits: number, exponent = 65537): Uint8Array {
  const p = new Uint8Array(8);
  const v = new DataView(p.buffer);
  v.setUint16(0, bits, true);
  v.setUint32(4, exponent, true);
  return p;
}

export function errorCode(f: Frame): number {
  return f.type === T.ERROR ? new DataView(f.payload.buffer, f.payload.byteOffset).getUint16(0, true) : -1;
}

export function u32(f: Frame, off: number): number {
  return new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(off, true);
}

/** Reads a key part (0 private, 1 public) of a DONE job in 1016-byte chunks. */
export async function readPart(fw: FwProcess, part: number, length: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let off = 0; off < length; ) {
    const req = new Uint8Array(8);
    const v = new DataView(req.buffer);
    req[0] = part;
    v.setUint16(2, 1016, true);
    v.setUint32(4, off, true);
    const r = await fw.request(T.READ, req);
    if (r.type !== (T.READ | RESPONSE_FLAG)) throw new Error(`READ failed: type 0x${r.type.toString(16)}`);
    const n = new DataView(r.payload.buffer, r.payload.byteOffset).getUint16(2, true);
    chunks.push(Buffer.from(r.payload.subarray(8, 8 + n)));
    off += n;
    if (n === 0) break;
  }
  return Buffer.concat(chunks);
}
