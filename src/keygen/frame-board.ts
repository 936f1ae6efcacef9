/**
 * A Board over a Transport, speaking the frames of src/device/frame.ts: request ids, a timeout per
 * try and resends of the identical frame (docs/protocol.md section 4), device events, console
 * lines. (Written before src/device/client.ts existed; it keeps to the same rules, so swapping it
 * for an adapter over DeviceClient changes nothing above the Board interface.)
 */

import { encodeFrame, FrameDecoder, PROTO_VERSION, RESPONSE_FLAG } from "../device/frame.js";
import { RsagenError } from "../errors.js";
import type { Transport } from "../serial/transport.js";
import {
  type Board,
  type BoardEvent,
  type DeviceInfo,
  DeviceRefusal,
  type JobEnd,
  type JobStatus,
  type KeyPartValue,
  type RequestOptions,
} from "./board.js";
import {
  decodeBoot,
  decodeError,
  decodeHello,
  decodeJobEnd,
  decodeProgress,
  decodeRead,
  decodeStatus,
  encodeKeygen,
  encodeRead,
} from "./payloads.js";

export const MsgType = {
  HELLO: 0x01,
  PING: 0x02,
  KEYGEN: 0x03,
  STATUS: 0x04,
  CANCEL: 0x05,
  READ: 0x06,
  RELEASE: 0x07,
  REBOOT: 0x08,
  ERROR_RESPONSE: 0xff,
  EVT_BOOT: 0x40,
  EVT_PROGRESS: 0x41,
  EVT_DONE: 0x42,
  EVT_FAILED: 0x43,
} as const;

const NAMES: Record<number, string> = {
  1: "HELLO",
  2: "PING",
  3: "KEYGEN",
  4: "STATUS",
  5: "CANCEL",
  6: "READ",
  7: "RELEASE",
  8: "REBOOT",
};

interface Pending {
  type: number;
  resolve: (payload: Uint8Array) => void;
  reject: (err: unknown) => void;
}

export interface FrameBoardOptions {
  timeoutMs?: number;
  retries?: number;
  /** Hand a held-back partial frame out as text after this much line idle time. */
  idleFlushMs?: number;
  /** Called with every decoded frame and text chunk (for rsagen monitor). */
  tap?: (
    item:
      | { kind: "frame"; type: number; requestId: number; length: number; dir: "rx" | "tx" }
      | { kind: "text"; bytes: Uint8Array },
  ) => void;
}

const isGarbage = (b: number) =>
  (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x1b) || b >= 0x7f;

export class FrameBoard implements Board {
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(ev: BoardEvent) => void>();
  private readonly textListeners = new Set<(line: string) => void>();
  private nextId = 1;
  private lineBuf = "";
  private garbageBytes = 0;
  private textBytes = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed: RsagenError | undefined;
  private readonly onData = (chunk: Uint8Array) => this.feed(chunk);
  private readonly onClose = (lost: RsagenError | undefined) => {
    this.closed = lost ?? new RsagenError("E_PORT_LOST", `${this.transport.path} was closed`);
    for (const p of this.pending.values()) p.reject(this.closed);
    this.pending.clear();
  };

  constructor(
    readonly transport: Transport,
    private readonly opts: FrameBoardOptions = {},
  ) {
    transport.on("data", this.onData);
    transport.on("close", this.onClose);
  }

  get canReset(): boolean {
    return this.transport.capabilities.hasResetLines;
  }

  private feed(chunk: Uint8Array): void {
    for (const item of this.decoder.push(chunk)) this.handle(item);
    clearTimeout(this.idleTimer);
    if (this.decoder.pending > 0) {
      this.idleTimer = setTimeout(() => {
        for (const item of this.decoder.flush()) this.handle(item);
      }, this.opts.idleFlushMs ?? 100);
      this.idleTimer.unref();
    }
  }

  private handle(item: ReturnType<FrameDecoder["push"]>[number]): void {
    if (item.kind === "text") {
      this.opts.tap?.(item);
      this.text(item.bytes);
      return;
    }
    this.opts.tap?.({
      kind: "frame",
      type: item.type,
      requestId: item.requestId,
      length: item.payload.length,
      dir: "rx",
    });
    if (item.requestId === 0) {
      if (item.version === PROTO_VERSION) this.event(item.type, item.payload);
      return;
    }
    const p = this.pending.get(item.requestId);
    if (!p) return; // a late answer to an earlier try
    // HELLO is version-proof; every other answer must be in our version (section 5).
    if (item.version !== PROTO_VERSION && p.type !== MsgType.HELLO) return;
    if (item.type === (p.type | RESPONSE_FLAG)) {
      this.pending.delete(item.requestId);
      p.resolve(item.payload);
    } else if (item.type === MsgType.ERROR_RESPONSE) {
      this.pending.delete(item.requestId);
      try {
        const e = decodeError(item.payload);
        p.reject(new DeviceRefusal(e.code, e.requestType, e.message));
      } catch (err) {
        p.reject(err);
      }
    }
  }

  private text(bytes: Uint8Array): void {
    for (const b of bytes) if (isGarbage(b)) this.garbageBytes++;
    this.textBytes += bytes.length;
    this.lineBuf += Buffer.from(bytes).toString("latin1");
    let nl = this.lineBuf.indexOf("\n");
    while (nl >= 0) {
      const line = this.lineBuf.slice(0, nl).replace(/\r$/, "");
      this.lineBuf = this.lineBuf.slice(nl + 1);
      for (const l of this.textListeners) l(line);
      nl = this.lineBuf.indexOf("\n");
    }
    if (this.lineBuf.length > 4096) this.lineBuf = this.lineBuf.slice(-1024);
  }

  private event(type: number, payload: Uint8Array): void {
    let ev: BoardEvent;
    try {
      if (type === MsgType.EVT_BOOT) ev = { kind: "boot", boot: decodeBoot(payload) };
      else if (type === MsgType.EVT_PROGRESS) ev = { kind: "progress", progress: decodeProgress(payload) };
      else if (type === MsgType.EVT_DONE) ev = { kind: "done", status: decodeStatus(payload) };
      else if (type === MsgType.EVT_FAILED) ev = { kind: "failed", status: decodeStatus(payload) };
      else return;
    } catch {
      return; // a malformed event is dropped; STATUS polling covers it
    }
    for (const l of this.eventListeners) l(ev);
  }

  request(
    type: number,
    payload: Uint8Array = new Uint8Array(0),
    opts: RequestOptions = {},
  ): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff ? 1 : this.nextId + 1;
    const frame = encodeFrame(type, id, payload);
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? (type === MsgType.READ ? 2000 : 1000);
    const retries = opts.retries ?? this.opts.retries ?? 2;
    return new Promise<Uint8Array>((resolve, reject) => {
      let tries = 0;
      let timer: NodeJS.Timeout | undefined;
      const send = () => {
        tries++;
        this.opts.tap?.({ kind: "frame", type, requestId: id, length: payload.length, dir: "tx" });
        this.transport.write(frame).catch((err) => done(() => reject(err)));
        timer = setTimeout(() => {
          if (tries <= retries) send();
          else
            done(() =>
              reject(
                new RsagenError(
                  "E_DEVICE_PROTOCOL",
                  `no answer to ${NAMES[type] ?? type} after ${tries} tries of ${timeoutMs} ms`,
                  "check that rsagen firmware runs on the board (rsagen monitor)",
                ),
              ),
            );
        }, timeoutMs);
      };
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.pending.delete(id);
        fn();
      };
      this.pending.set(id, {
        type,
        resolve: (p) => done(() => resolve(p)),
        reject: (e) => done(() => reject(e)),
      });
      send();
    });
  }

  async hello(opts?: RequestOptions): Promise<DeviceInfo> {
    return decodeHello(await this.request(MsgType.HELLO, undefined, opts));
  }

  ping(payload: Uint8Array, opts?: RequestOptions): Promise<Uint8Array> {
    return this.request(MsgType.PING, payload, opts);
  }

  async keygen(bits: number, exponent: number, opts?: RequestOptions): Promise<number> {
    const p = await this.request(MsgType.KEYGEN, encodeKeygen(bits, exponent), opts);
    if (p.length < 4) throw new RsagenError("E_DEVICE_PROTOCOL", "the board's KEYGEN answer is too short");
    return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0, true);
  }

  async status(opts?: RequestOptions): Promise<JobStatus> {
    return decodeStatus(await this.request(MsgType.STATUS, undefined, opts));
  }

  async cancel(opts?: RequestOptions): Promise<JobEnd> {
    return decodeJobEnd(await this.request(MsgType.CANCEL, undefined, opts));
  }

  async release(opts?: RequestOptions): Promise<JobEnd> {
    return decodeJobEnd(await this.request(MsgType.RELEASE, undefined, opts));
  }

  async read(part: KeyPartValue, offset: number, length: number, opts?: RequestOptions): Promise<Uint8Array> {
    const r = decodeRead(await this.request(MsgType.READ, encodeRead(part, offset, length), opts));
    if (r.part !== part || r.offset !== offset) {
      throw new RsagenError(
        "E_DEVICE_PROTOCOL",
        `READ answer for part ${r.part} offset ${r.offset}, asked ${part}/${offset}`,
      );
    }
    return r.data;
  }

  async reboot(mode: 0 | 1, opts?: RequestOptions): Promise<void> {
    await this.request(MsgType.REBOOT, Uint8Array.of(mode), opts);
  }

  onEvent(listener: (ev: BoardEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onText(listener: (line: string) => void): () => void {
    this.textListeners.add(listener);
    return () => this.textListeners.delete(listener);
  }

  /** Classic auto-reset circuit (esptool's hard reset): EN low for 100 ms with GPIO0 released. */
  async resetIntoApp(): Promise<void> {
    await this.transport.setSignals({ dtr: false, rts: true });
    await new Promise((r) => setTimeout(r, 100));
    await this.transport.setSignals({ dtr: false, rts: false });
  }

  noiseStats(): { garbageBytes: number; textBytes: number; badFrames: number } {
    const s = this.decoder.stats;
    return {
      garbageBytes: this.garbageBytes,
      textBytes: this.textBytes,
      badFrames: s.crcErrors + s.headerErrors,
    };
  }

  /** Detaches from the transport (the caller closes the transport it opened). */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.transport.off("data", this.onData);
    this.transport.off("close", this.onClose);
    const err = new RsagenError("E_INTERNAL", "board closed while a request was pending");
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
