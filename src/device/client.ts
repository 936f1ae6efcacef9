/**
 * DeviceClient: requests and responses of the rsagen device protocol (docs/protocol.md) over any
 * byte stream. Matches answers by request id, resends the identical frame on timeout (section 4),
 * hands out device events, and turns the console text between frames into log lines.
 */
import { EventEmitter } from "node:events";
import { RsagenError } from "../errors.js";
import type { ByteDuplex } from "./duplex.js";
import {
  type DecoderStats,
  encodeFrame,
  type Frame,
  FrameDecoder,
  PROTO_VERSION,
  RESPONSE_FLAG,
} from "./frame.js";
import {
  type BootInfo,
  type CsrRequest,
  type DeviceError,
  DeviceErrorCode,
  type DeviceMessage,
  decodeDeviceFrame,
  decodeHelloInfo,
  ERROR_RESPONSE_TYPE,
  encodeCsrRequest,
  encodeKeepRequest,
  encodeKeygenRequest,
  encodePing,
  encodeReadRequest,
  encodeRebootRequest,
  encodeSignRequest,
  encodeSlotListRequest,
  encodeSlotNameRequest,
  type HelloInfo,
  type JobEnd,
  type JobStatus,
  type KeepRequest,
  type KeygenRequest,
  type KeyPart,
  MsgType,
  type Progress,
  READ_MAX_CHUNK,
  type ReadChunk,
  type RebootMode,
  type RequestType,
  type SignRequest,
  type SlotDeleted,
  type SlotInfo,
  type SlotList,
} from "./messages.js";

export interface RequestOptions {
  /** Per-try timeout. */
  timeoutMs?: number;
  /** Resends of the same frame (same id) after a timeout. */
  retries?: number;
}

export interface ClientOptions {
  /** Overrides the per-type defaults for every request. */
  timeoutMs?: number;
  retries?: number;
  /** First request id (1..65535). Default random, so late answers to a previous session's
   * requests are unlikely to match, and a KEYGEN id is unlikely to repeat across sessions. */
  firstRequestId?: number;
  /** Longest console line handed out before a line end arrives. */
  maxLineBytes?: number;
  /** After this much silence, bytes held back as a possible frame start are handed out as
   * console text (a log byte 0xC1 must not hide the rest of its line). Default 250 ms: longer
   * than any gap inside a frame that a USB bridge or RFC 2217 link introduces. */
  idleFlushMs?: number;
}

/** Defaults per request type. CANCEL answers only after the generation task has exited. */
const DEFAULTS: Record<RequestType, Required<RequestOptions>> = {
  [MsgType.HELLO]: { timeoutMs: 1000, retries: 2 },
  [MsgType.PING]: { timeoutMs: 1000, retries: 2 },
  [MsgType.KEYGEN]: { timeoutMs: 2000, retries: 2 },
  [MsgType.STATUS]: { timeoutMs: 1000, retries: 2 },
  [MsgType.CANCEL]: { timeoutMs: 30000, retries: 1 },
  [MsgType.READ]: { timeoutMs: 2000, retries: 2 },
  [MsgType.RELEASE]: { timeoutMs: 2000, retries: 2 },
  [MsgType.REBOOT]: { timeoutMs: 1000, retries: 1 },
  // The slot requests read flash; DELETE also zeroizes and erases a sector (tens of ms on a chip,
  // up to ~400 ms per sector erase at the datasheet maximum of common SPI NOR parts).
  [MsgType.SLOT_LIST]: { timeoutMs: 2000, retries: 2 },
  [MsgType.SLOT_INFO]: { timeoutMs: 2000, retries: 2 },
  [MsgType.SLOT_DELETE]: { timeoutMs: 5000, retries: 1 },
  [MsgType.KEEP]: { timeoutMs: 2000, retries: 2 },
  [MsgType.CSR]: { timeoutMs: 2000, retries: 2 },
  [MsgType.SIGN]: { timeoutMs: 2000, retries: 2 },
};

const TYPE_NAMES: Record<number, string> = {
  [MsgType.HELLO]: "HELLO",
  [MsgType.PING]: "PING",
  [MsgType.KEYGEN]: "KEYGEN",
  [MsgType.STATUS]: "STATUS",
  [MsgType.CANCEL]: "CANCEL",
  [MsgType.READ]: "READ",
  [MsgType.RELEASE]: "RELEASE",
  [MsgType.REBOOT]: "REBOOT",
  [MsgType.SLOT_LIST]: "SLOT_LIST",
  [MsgType.SLOT_INFO]: "SLOT_INFO",
  [MsgType.SLOT_DELETE]: "SLOT_DELETE",
  [MsgType.KEEP]: "KEEP",
  [MsgType.CSR]: "CSR",
  [MsgType.SIGN]: "SIGN",
};
const typeName = (t: number) => TYPE_NAMES[t] ?? `0x${t.toString(16)}`;

export type DeviceEvent = Extract<DeviceMessage, { kind: "boot" | "progress" | "done" | "failed" }>;

/** The device answered ERROR. `device` carries its code, name and message. */
export class DeviceRequestError extends RsagenError {
  readonly device: DeviceError;
  constructor(requestType: number, device: DeviceError) {
    const what = typeName(requestType);
    const text = `device refused ${what}: ${device.name}${device.message ? ` (${device.message})` : ""}`;
    switch (device.code) {
      case DeviceErrorCode.BUSY:
        super("E_DEVICE_BUSY", text, "a key job exists on the board: wait for it, or cancel/release it");
        break;
      case DeviceErrorCode.UNSUPPORTED:
        super(
          "E_DEVICE_UNSUPPORTED",
          text,
          "the firmware or chip lacks this feature (rsagen info lists features); rebuild with it enabled",
        );
        break;
      case DeviceErrorCode.SLOT_NOT_FOUND:
        super("E_SLOT_NOT_FOUND", text, "rsagen slot list shows the board's slots");
        break;
      case DeviceErrorCode.SLOT_EXISTS:
        super("E_SLOT_EXISTS", text, "choose another --slot, or --force to replace the slot's key");
        break;
      case DeviceErrorCode.SLOTS_FULL:
        super("E_SLOTS_FULL", text, "delete a slot first (rsagen slot delete NAME)");
        break;
      case DeviceErrorCode.NO_STORAGE:
        super(
          "E_NO_SLOT_STORAGE",
          text,
          "flash this rsagen's build: its partition table has the key partition rsagen_keys (rsagen flash)",
        );
        break;
      case DeviceErrorCode.STORAGE:
        super(
          "E_SLOT_STORAGE",
          text,
          "the board's flash failed: reset it and retry; rsagen monitor shows its log",
        );
        break;
      case DeviceErrorCode.VERSION:
        super(
          "E_DEVICE_PROTOCOL",
          `device speaks protocol v${device.protoVersion}, this rsagen speaks v${PROTO_VERSION}`,
          "rebuild and flash the firmware with this rsagen (rsagen build && rsagen flash)",
        );
        break;
      default:
        super("E_DEVICE_PROTOCOL", text, "see the device console (rsagen monitor) for details");
    }
    this.name = "DeviceRequestError";
    this.device = device;
  }
}

export interface ClientStats {
  framesSent: number;
  retries: number;
  /** Answers with no outstanding request (late answers to a retried request, stale sessions). */
  unmatchedFrames: number;
  /** Frames of another protocol version that answered nothing outstanding. */
  foreignVersionFrames: number;
  /** Frames whose payload failed validation and matched no request. */
  badPayloads: number;
  decoder: DecoderStats;
}

export interface DeviceClientEvents {
  event: [event: DeviceEvent];
  /** A console line without its line end (log output, boot banner). */
  text: [line: string];
  /** Raw console bytes as they arrive (for a monitor). */
  console: [bytes: Uint8Array];
  close: [err: Error | undefined];
}

interface Pending {
  type: number;
  resolve: (m: DeviceMessage) => void;
  reject: (e: Error) => void;
}

function versionMismatch(deviceVersion: number): RsagenError {
  return new RsagenError(
    "E_DEVICE_PROTOCOL",
    `device speaks protocol v${deviceVersion}, this rsagen speaks v${PROTO_VERSION}`,
    "rebuild and flash the firmware with this rsagen (rsagen build && rsagen flash)",
  );
}

function protocolError(message: string): RsagenError {
  return new RsagenError("E_DEVICE_PROTOCOL", message, "check the device console with rsagen monitor");
}

export class DeviceClient extends EventEmitter<DeviceClientEvents> {
  private readonly decoder = new FrameDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly unsubscribe: Array<() => void>;
  private nextId: number;
  private closed: Error | undefined;
  private line: number[] = [];
  private readonly maxLine: number;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly counters = {
    framesSent: 0,
    retries: 0,
    unmatchedFrames: 0,
    foreignVersionFrames: 0,
    badPayloads: 0,
  };

  constructor(
    private readonly io: ByteDuplex,
    private readonly options: ClientOptions = {},
  ) {
    super();
    const first = options.firstRequestId ?? 1 + Math.floor(Math.random() * 0xffff);
    if (!Number.isInteger(first) || first < 1 || first > 0xffff)
      throw new RangeError(`bad first request id ${first}`);
    this.nextId = first;
    this.maxLine = options.maxLineBytes ?? 4096;
    this.unsubscribe = [io.onData((chunk) => this.onBytes(chunk)), io.onClose((err) => this.onClosed(err))];
  }

  get stats(): ClientStats {
    return { ...this.counters, decoder: { ...this.decoder.stats } };
  }

  /** Sends a request and resolves with the decoded answer; rejects with DeviceRequestError on ERROR. */
  async request(
    type: RequestType | number,
    payload: Uint8Array = new Uint8Array(0),
    opts: RequestOptions = {},
  ) {
    if (this.closed) throw this.closedError();
    const base = DEFAULTS[type as RequestType] ?? { timeoutMs: 1000, retries: 2 };
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs ?? base.timeoutMs;
    const retries = opts.retries ?? this.options.retries ?? base.retries;
    const id = this.allocId();
    const frame = encodeFrame(type, id, payload);
    const answer = new Promise<DeviceMessage>((resolve, reject) =>
      this.pending.set(id, { type, resolve, reject }),
    );
    answer.catch(() => {}); // observed below; avoids an unhandled rejection between tries
    try {
      for (let attempt = 0; ; attempt++) {
        await this.io.write(frame);
        this.counters.framesSent++;
        const got = await settleWithin(answer, timeoutMs);
        if (got.done) return got.value;
        if (attempt >= retries)
          throw new RsagenError(
            "E_DEVICE_PROTOCOL",
            `no answer to ${typeName(type)} after ${attempt + 1} tries of ${timeoutMs} ms`,
            "is the rsagen firmware running on this port? rsagen monitor shows what the board prints",
          );
        this.counters.retries++;
      }
    } finally {
      this.pending.delete(id);
    }
  }

  async hello(opts?: RequestOptions): Promise<HelloInfo> {
    const m = await this.request(MsgType.HELLO, new Uint8Array(0), opts);
    if (m.kind !== "hello") throw protocolError(`unexpected ${m.kind} answer to HELLO`);
    if (m.info.protoVersion !== PROTO_VERSION) throw versionMismatch(m.info.protoVersion);
    return m.info;
  }

  /** Echo test; resolves with the round-trip time in ms. */
  async ping(data: Uint8Array = new Uint8Array(0), opts?: RequestOptions): Promise<number> {
    const t0 = performance.now();
    const m = await this.request(MsgType.PING, encodePing(data), opts);
    if (m.kind !== "ping" || Buffer.compare(m.data, data) !== 0) throw protocolError("PING echo differs");
    return performance.now() - t0;
  }

  async keygen(req: KeygenRequest, opts?: RequestOptions): Promise<number> {
    const m = await this.request(MsgType.KEYGEN, encodeKeygenRequest(req), opts);
    if (m.kind !== "keygen") throw protocolError(`unexpected ${m.kind} answer to KEYGEN`);
    return m.jobId;
  }

  async status(opts?: RequestOptions): Promise<JobStatus> {
    const m = await this.request(MsgType.STATUS, new Uint8Array(0), opts);
    if (m.kind !== "status") throw protocolError(`unexpected ${m.kind} answer to STATUS`);
    return m.status;
  }

  async cancel(opts?: RequestOptions): Promise<JobEnd> {
    const m = await this.request(MsgType.CANCEL, new Uint8Array(0), opts);
    if (m.kind !== "cancel") throw protocolError(`unexpected ${m.kind} answer to CANCEL`);
    return m.end;
  }

  async release(opts?: RequestOptions): Promise<JobEnd> {
    const m = await this.request(MsgType.RELEASE, new Uint8Array(0), opts);
    if (m.kind !== "release") throw protocolError(`unexpected ${m.kind} answer to RELEASE`);
    return m.end;
  }

  async read(part: KeyPart, offset: number, length: number, opts?: RequestOptions): Promise<ReadChunk> {
    const m = await this.request(MsgType.READ, encodeReadRequest({ part, offset, length }), opts);
    if (m.kind !== "read") throw protocolError(`unexpected ${m.kind} answer to READ`);
    if (m.chunk.part !== part || m.chunk.offset !== offset || m.chunk.data.length > length)
      throw protocolError(
        `READ answer for ${m.chunk.part}@${m.chunk.offset} does not match ${part}@${offset}`,
      );
    return m.chunk;
  }

  /**
   * Reads a whole key part of known length with up to `window` READs in flight, so the line
   * stays busy while the device prepares the next chunk (key readback near line rate).
   */
  async readPart(
    part: KeyPart,
    totalLength: number,
    opts: RequestOptions & { window?: number; chunk?: number } = {},
  ): Promise<Uint8Array> {
    const chunk = Math.min(opts.chunk ?? READ_MAX_CHUNK, READ_MAX_CHUNK);
    const window = Math.max(1, opts.window ?? 4);
    const out = new Uint8Array(totalLength);
    const offsets: number[] = [];
    for (let o = 0; o < totalLength; o += chunk) offsets.push(o);
    let next = 0;
    const worker = async () => {
      while (next < offsets.length) {
        const offset = offsets[next++]!;
        const want = Math.min(chunk, totalLength - offset);
        const c = await this.read(part, offset, want, opts);
        if (c.data.length !== want)
          throw protocolError(`READ ${part}@${offset} returned ${c.data.length} of ${want} bytes`);
        out.set(c.data, offset);
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, offsets.length) }, worker));
    return out;
  }

  /** One page of the slot list, from index `first` (name order). */
  async slotList(first = 0, opts?: RequestOptions): Promise<SlotList> {
    const m = await this.request(MsgType.SLOT_LIST, encodeSlotListRequest(first), opts);
    if (m.kind !== "slot-list") throw protocolError(`unexpected ${m.kind} answer to SLOT_LIST`);
    if (m.list.first !== first)
      throw protocolError(`SLOT_LIST answer starts at ${m.list.first}, asked ${first}`);
    return m.list;
  }

  /** Every slot: pages until the total is reached. */
  async slotListAll(opts?: RequestOptions): Promise<SlotList> {
    const head = await this.slotList(0, opts);
    const slots = [...head.slots];
    while (slots.length < head.total) {
      const page = await this.slotList(slots.length, opts);
      if (page.slots.length === 0) throw protocolError("SLOT_LIST page is empty before the total");
      slots.push(...page.slots);
    }
    return { ...head, slots };
  }

  async slotInfo(name: string, opts?: RequestOptions): Promise<SlotInfo> {
    const m = await this.request(MsgType.SLOT_INFO, encodeSlotNameRequest(name), opts);
    if (m.kind !== "slot-info") throw protocolError(`unexpected ${m.kind} answer to SLOT_INFO`);
    if (m.slot.name !== name) throw protocolError(`SLOT_INFO answer is for ${m.slot.name}, asked ${name}`);
    return m.slot;
  }

  async slotDelete(name: string, opts?: RequestOptions): Promise<SlotDeleted> {
    const m = await this.request(MsgType.SLOT_DELETE, encodeSlotNameRequest(name), opts);
    if (m.kind !== "slot-delete") throw protocolError(`unexpected ${m.kind} answer to SLOT_DELETE`);
    return m.deleted;
  }

  async keep(req: KeepRequest, opts?: RequestOptions): Promise<number> {
    const m = await this.request(MsgType.KEEP, encodeKeepRequest(req), opts);
    if (m.kind !== "keep") throw protocolError(`unexpected ${m.kind} answer to KEEP`);
    return m.jobId;
  }

  async csr(req: CsrRequest, opts?: RequestOptions): Promise<number> {
    const m = await this.request(MsgType.CSR, encodeCsrRequest(req), opts);
    if (m.kind !== "csr") throw protocolError(`unexpected ${m.kind} answer to CSR`);
    return m.jobId;
  }

  async sign(req: SignRequest, opts?: RequestOptions): Promise<number> {
    const m = await this.request(MsgType.SIGN, encodeSignRequest(req), opts);
    if (m.kind !== "sign") throw protocolError(`unexpected ${m.kind} answer to SIGN`);
    return m.jobId;
  }

  async reboot(mode: RebootMode = "normal", opts?: RequestOptions): Promise<void> {
    const m = await this.request(MsgType.REBOOT, encodeRebootRequest(mode), opts);
    if (m.kind !== "reboot") throw protocolError(`unexpected ${m.kind} answer to REBOOT`);
  }

  /** Resolves with the first event that satisfies `match` (e.g. BOOT after a reset). */
  waitForEvent<K extends DeviceEvent["kind"]>(
    kind: K,
    timeoutMs: number,
    match: (e: Extract<DeviceEvent, { kind: K }>) => boolean = () => true,
  ): Promise<Extract<DeviceEvent, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const onEvent = (e: DeviceEvent) => {
        if (e.kind === kind && match(e as Extract<DeviceEvent, { kind: K }>)) {
          cleanup();
          resolve(e as Extract<DeviceEvent, { kind: K }>);
        }
      };
      const onClose = (err: Error | undefined) => {
        cleanup();
        reject(err ?? this.closedError());
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new RsagenError(
            "E_DEVICE_PROTOCOL",
            `no ${kind} event from the device within ${timeoutMs} ms`,
            "rsagen monitor shows what the board prints",
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off("event", onEvent);
        this.off("close", onClose);
      };
      this.on("event", onEvent);
      this.on("close", onClose);
    });
  }

  /** Stops listening; pending requests fail; a partial console line and held-back bytes are emitted. */
  close(): void {
    if (this.closed) return;
    this.onBytesFlush();
    this.finish(
      new RsagenError("E_DEVICE_PROTOCOL", "device client closed", "this is a bug if you see it"),
      false,
    );
  }

  // ---- internals --------------------------------------------------------------------------------

  private allocId(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 0xffff ? 1 : id + 1;
      if (!this.pending.has(id)) return id;
    }
  }

  private onBytes(chunk: Uint8Array): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    for (const item of this.decoder.push(chunk)) {
      if (item.kind === "text") this.onText(item.bytes);
      else this.onFrame(item);
    }
    if (this.decoder.pending > 0 && !this.closed) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        for (const item of this.decoder.flush()) {
          if (item.kind === "text") this.onText(item.bytes);
          else this.onFrame(item);
        }
      }, this.options.idleFlushMs ?? 250);
      this.idleTimer.unref();
    }
  }

  private onBytesFlush(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    for (const item of this.decoder.flush()) {
      if (item.kind === "text") this.onText(item.bytes);
      else this.onFrame(item);
    }
    if (this.line.length > 0) this.emitLine();
  }

  private onText(bytes: Uint8Array): void {
    this.emit("console", bytes);
    for (const b of bytes) {
      if (b === 0x0a) this.emitLine();
      else {
        this.line.push(b);
        if (this.line.length >= this.maxLine) this.emitLine();
      }
    }
  }

  private emitLine(): void {
    let bytes = this.line;
    this.line = [];
    if (bytes[bytes.length - 1] === 0x0d) bytes = bytes.slice(0, -1);
    this.emit("text", new TextDecoder().decode(Uint8Array.from(bytes)));
  }

  private onFrame(f: Frame): void {
    const pending = f.requestId === 0 ? undefined : this.pending.get(f.requestId);
    if (f.version !== PROTO_VERSION) {
      // Section 5: HELLO answers and ERROR answers reach the caller, so it can say which version
      // the device speaks; anything else of a foreign version is dropped.
      if (
        pending &&
        pending.type === MsgType.HELLO &&
        f.type === (MsgType.HELLO | RESPONSE_FLAG) &&
        f.payload.length > 0
      ) {
        this.pending.delete(f.requestId);
        try {
          pending.resolve({ kind: "hello", requestId: f.requestId, info: decodeHelloInfo(f.payload) });
        } catch {
          pending.reject(versionMismatch(f.payload[0]!));
        }
        return;
      }
      if (pending && f.type === ERROR_RESPONSE_TYPE) {
        this.pending.delete(f.requestId);
        pending.reject(versionMismatch(f.payload[3] ?? f.version));
        return;
      }
      this.counters.foreignVersionFrames++;
      return;
    }
    let m: DeviceMessage;
    try {
      m = decodeDeviceFrame(f);
    } catch (err) {
      if (pending && (f.type === ERROR_RESPONSE_TYPE || (f.type & ~RESPONSE_FLAG) === pending.type)) {
        this.pending.delete(f.requestId);
        pending.reject(err as Error);
      } else this.counters.badPayloads++;
      return;
    }
    if (m.kind === "boot" || m.kind === "progress" || m.kind === "done" || m.kind === "failed") {
      this.emit("event", m);
      return;
    }
    if (!pending) {
      this.counters.unmatchedFrames++;
      return;
    }
    const answersIt =
      m.kind === "error" || ((f.type & RESPONSE_FLAG) !== 0 && (f.type & ~RESPONSE_FLAG) === pending.type);
    if (!answersIt) {
      // Same id, other type: an answer from another session; keep waiting for ours.
      this.counters.unmatchedFrames++;
      return;
    }
    // Settled now, so a second answer to the same id (after a retry) counts as unmatched even
    // when it arrives in the same chunk.
    this.pending.delete(f.requestId);
    if (m.kind === "error") pending.reject(new DeviceRequestError(pending.type, m.error));
    else pending.resolve(m);
  }

  private onClosed(err: Error | undefined): void {
    if (this.closed) return;
    this.onBytesFlush();
    this.finish(
      new RsagenError(
        "E_PORT_LOST",
        `the connection to the device closed${err ? `: ${err.message}` : ""}`,
        "check the cable or the port; the board may have reset",
        err ? { cause: err } : undefined,
      ),
      true,
    );
  }

  /** `lost`: the stream went away (reported on 'close'), rather than close() being called. */
  private finish(reason: Error, lost: boolean): void {
    this.closed = reason;
    for (const u of this.unsubscribe) u();
    for (const p of this.pending.values()) p.reject(reason);
    this.pending.clear();
    this.emit("close", lost ? reason : undefined);
  }

  private closedError(): Error {
    return (
      this.closed ?? new RsagenError("E_PORT_LOST", "the device connection is closed", "reconnect and retry")
    );
  }
}

/** Waits for `p` at most `ms`; the timer never outlives the wait. */
async function settleWithin<T>(
  p: Promise<T>,
  ms: number,
): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    return await Promise.race([p.then((value) => ({ done: true as const, value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type { BootInfo, HelloInfo, JobEnd, JobStatus, Progress, ReadChunk };
