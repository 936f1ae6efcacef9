/**
 * Message payloads of the rsagen device protocol (docs/protocol.md, section 3): constants,
 * encoders for both directions, and decoders that check every frame from the device with zod.
 * Layouts mirror firmware/components/rsagen_proto/include/rsagen_proto.h.
 */
import { z } from "zod";
import { RsagenError } from "../errors.js";
import { type Frame, MAX_PAYLOAD, RESPONSE_FLAG } from "./frame.js";

export const MsgType = {
  HELLO: 0x01,
  PING: 0x02,
  KEYGEN: 0x03,
  STATUS: 0x04,
  CANCEL: 0x05,
  READ: 0x06,
  RELEASE: 0x07,
  REBOOT: 0x08,
  SLOT_LIST: 0x09,
  SLOT_INFO: 0x0a,
  SLOT_DELETE: 0x0b,
  KEEP: 0x0c,
  CSR: 0x0d,
  SIGN: 0x0e,
  ERROR: 0x7f,
} as const;
export type RequestType = Exclude<(typeof MsgType)[keyof typeof MsgType], typeof MsgType.ERROR>;

export const EventType = { BOOT: 0x40, PROGRESS: 0x41, DONE: 0x42, FAILED: 0x43 } as const;
export const ERROR_RESPONSE_TYPE = MsgType.ERROR | RESPONSE_FLAG;

export const DeviceErrorCode = {
  UNKNOWN_TYPE: 1,
  BAD_ARGS: 2,
  BUSY: 3,
  NO_MEM: 4,
  UNSUPPORTED: 5,
  NO_JOB: 6,
  NOT_READY: 7,
  RANGE: 8,
  VERSION: 9,
  INTERNAL: 10,
  SLOT_NOT_FOUND: 11,
  SLOT_EXISTS: 12,
  SLOTS_FULL: 13,
  NO_STORAGE: 14,
  NOT_ALLOWED: 15,
  STORAGE: 16,
} as const;
export type DeviceErrorName = keyof typeof DeviceErrorCode;

export const JOB_STATES = ["idle", "running", "done", "failed", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];

export const Feature = {
  CRYPTO_EXTRA: 1 << 0,
  HW_MPI: 1 << 1,
  INLINE_KEYGEN: 1 << 2,
  HOST_BUILD: 1 << 3,
  DOWNLOAD_REBOOT: 1 << 4,
  KEY_SLOTS: 1 << 5,
  SLOT_CSR: 1 << 6,
} as const;

/** Storage flags (HELLO after its strings, SLOT_LIST). */
export const StoreFlag = {
  FLASH_ENCRYPTION: 1 << 0,
  PARTITION: 1 << 1,
  ENCRYPTED: 1 << 2,
  SECURE_BOOT: 1 << 3,
} as const;

/** Job kinds (STATUS byte 96; absent from firmware before key slots, which only had keygen). */
export const JOB_KINDS = ["keygen", "keep", "csr", "sign"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** READ parts: private key, public key, and the output of a CSR or SIGN job. */
export const PARTS = ["priv", "pub", "out"] as const;
export type KeyPart = (typeof PARTS)[number];
export const REBOOT_MODES = ["normal", "download"] as const;
export type RebootMode = (typeof REBOOT_MODES)[number];

export const READ_HEADER_LEN = 8;
export const READ_MAX_CHUNK = MAX_PAYLOAD - READ_HEADER_LEN;
export const STATUS_LEN = 136;
/** STATUS of firmware before key slots (no kind, no output fields). */
export const STATUS_V1_LEN = 96;
/** Slot names: 1..31 of A-Z a-z 0-9 . _ -, the first a letter or digit (docs/key-slots.md). */
export const SLOT_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/;
export const slotNameSchema = z.string().regex(SLOT_NAME_RE, {
  message: "a slot name is 1..31 of A-Z a-z 0-9 . _ -, starting with a letter or digit",
});
export const SIGN_SCHEMES = ["pkcs1", "pss"] as const;
export type SignScheme = (typeof SIGN_SCHEMES)[number];
/** subjectAltName types (GeneralName tag numbers, RFC 5280 4.2.1.6). */
export const SAN_TYPES = { email: 1, dns: 2, uri: 6, ip: 7 } as const;
export type SanType = keyof typeof SAN_TYPES;
export const CSR_MAX_SUBJECT = 512;
export const CSR_MAX_SANS = 16;
export const PROGRESS_INTERVAL_MS = 500;
/** MBEDTLS_VERSION_NUMBER from which RSA generation is ~10x slower (Mbed-TLS/mbedtls#10830). */
export const MBEDTLS_SLOW_KEYGEN_VERSION = 0x03060700;

// ---- schemas of everything the device sends -------------------------------------------------

const u8 = z.number().int().min(0).max(0xff);
const u16 = z.number().int().min(0).max(0xffff);
const u32 = z.number().int().min(0).max(0xffffffff);
const i32 = z.number().int().min(-0x80000000).max(0x7fffffff);
const shortString = z.string().max(63);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const bytes = z.instanceof(Uint8Array);

export const featureFlagsSchema = z.object({
  cryptoExtra: z.boolean(),
  hwMpi: z.boolean(),
  inlineKeygen: z.boolean(),
  hostBuild: z.boolean(),
  downloadReboot: z.boolean(),
  keySlots: z.boolean(),
  slotCsr: z.boolean(),
});
export type FeatureFlags = z.infer<typeof featureFlagsSchema>;

export const helloInfoSchema = z
  .object({
    protoVersion: z.number().int().min(1).max(255),
    jobState: z.enum(JOB_STATES),
    features: u16,
    flags: featureFlagsSchema,
    minBits: u16,
    maxBits: u16,
    mbedtlsVersion: u32,
    freeHeap: u32,
    largestFreeBlock: u32,
    wdtTimeoutMs: u32,
    firmwareVersion: shortString,
    target: shortString.min(1),
    idfVersion: shortString,
    mbedtlsVersionString: shortString,
    /** After the strings; absent from firmware before key slots. */
    storage: z
      .object({
        flags: u16,
        flashEncryption: z.boolean(),
        partition: z.boolean(),
        encrypted: z.boolean(),
        secureBoot: z.boolean(),
        slotsUsed: u8,
        slotsCapacity: u8,
      })
      .refine((st) => st.slotsUsed <= st.slotsCapacity, {
        message: "more slots used than the partition holds",
      })
      .optional(),
    /** esp_reset_reason_t of the last reset (after the storage tail; absent from older firmware). */
    resetReason: u32.optional(),
  })
  .refine((h) => h.minBits <= h.maxBits, { message: "min bits above max bits" });
export type HelloInfo = z.infer<typeof helloInfoSchema>;

export const jobStatusSchema = z
  .object({
    state: z.enum(JOB_STATES),
    bits: u16,
    jobId: u32,
    exponent: u32,
    elapsedMs: u32,
    rngCalls: u32,
    mbedtlsError: i32,
    privLen: u32,
    pubLen: u32,
    privSha256: sha256Hex,
    pubSha256: sha256Hex,
    /** Bytes 96..135 (firmware with key slots); a 96-byte status decodes as kind keygen, no output. */
    kind: z.enum(JOB_KINDS),
    outLen: u32,
    outSha256: sha256Hex,
  })
  .refine(
    (s) =>
      s.state !== "done" ||
      (s.kind === "keygen" && s.privLen > 0 && s.pubLen > 0) ||
      (s.kind === "keep" && s.privLen === 0 && s.pubLen > 0) ||
      ((s.kind === "csr" || s.kind === "sign") && s.outLen > 0),
    { message: "a finished job reports empty parts" },
  );
export type JobStatus = z.infer<typeof jobStatusSchema>;

export const progressSchema = z.object({ jobId: u32, elapsedMs: u32, rngCalls: u32, bits: u16 });
export type Progress = z.infer<typeof progressSchema>;

export const jobEndSchema = z.object({ prevState: z.enum(JOB_STATES), jobId: u32 });
export type JobEnd = z.infer<typeof jobEndSchema>;

export const readChunkSchema = z.object({
  part: z.enum(PARTS),
  offset: u32,
  data: bytes.refine((b) => b.length <= READ_MAX_CHUNK, { message: "chunk too long" }),
});
export type ReadChunk = z.infer<typeof readChunkSchema>;

export const deviceErrorSchema = z.object({
  code: u16,
  name: z.union([
    z.enum(Object.keys(DeviceErrorCode) as [DeviceErrorName, ...DeviceErrorName[]]),
    z.literal("UNKNOWN"),
  ]),
  requestType: u8,
  protoVersion: u8,
  message: z.string().max(120),
});
export type DeviceError = z.infer<typeof deviceErrorSchema>;

export const slotEntrySchema = z.object({
  name: slotNameSchema,
  keyType: z.literal(1),
  bits: u16,
  pubLen: u16,
  seq: u32,
});
export type SlotEntry = z.infer<typeof slotEntrySchema>;

export const slotListSchema = z
  .object({
    total: u8,
    first: u8,
    flags: u16,
    capacity: u8,
    free: u8,
    partitionSize: u32,
    slots: z.array(slotEntrySchema),
  })
  .refine((l) => l.first + l.slots.length <= l.total, { message: "more entries than slots" })
  .refine((l) => l.total + l.free <= l.capacity, { message: "slots and free space exceed the capacity" });
export type SlotList = z.infer<typeof slotListSchema>;

export const slotInfoSchema = z.object({
  name: slotNameSchema,
  keyType: z.literal(1),
  bits: u16,
  seq: u32,
  pubSha256: sha256Hex,
  pub: bytes.refine((b) => b.length > 0, { message: "empty public key" }),
});
export type SlotInfo = z.infer<typeof slotInfoSchema>;

export const slotDeletedSchema = z.object({ name: slotNameSchema, seq: u32 });
export type SlotDeleted = z.infer<typeof slotDeletedSchema>;

export const bootSchema = z.object({
  protoVersion: z.number().int().min(1).max(255),
  features: u16,
  flags: featureFlagsSchema,
  resetReason: u32,
  firmwareVersion: shortString,
  target: shortString.min(1),
});
export type BootInfo = z.infer<typeof bootSchema>;

export type DeviceMessage =
  | { kind: "hello"; requestId: number; info: HelloInfo }
  | { kind: "ping"; requestId: number; data: Uint8Array }
  | { kind: "keygen"; requestId: number; jobId: number }
  | { kind: "status"; requestId: number; status: JobStatus }
  | { kind: "cancel"; requestId: number; end: JobEnd }
  | { kind: "release"; requestId: number; end: JobEnd }
  | { kind: "read"; requestId: number; chunk: ReadChunk }
  | { kind: "reboot"; requestId: number }
  | { kind: "slot-list"; requestId: number; list: SlotList }
  | { kind: "slot-info"; requestId: number; slot: SlotInfo }
  | { kind: "slot-delete"; requestId: number; deleted: SlotDeleted }
  | { kind: "keep" | "csr" | "sign"; requestId: number; jobId: number }
  | { kind: "error"; requestId: number; error: DeviceError }
  | { kind: "boot"; requestId: 0; boot: BootInfo }
  | { kind: "progress"; requestId: 0; progress: Progress }
  | { kind: "done"; requestId: 0; status: JobStatus }
  | { kind: "failed"; requestId: 0; status: JobStatus }
  | { kind: "unknown"; requestId: number; type: number };

// ---- binary helpers ---------------------------------------------------------------------------

function protocolError(message: string, cause?: unknown): RsagenError {
  return new RsagenError(
    "E_DEVICE_PROTOCOL",
    message,
    "check that the firmware matches this rsagen (rsagen info), or retry on a cleaner line",
    cause === undefined ? undefined : { cause },
  );
}

class Reader {
  private off = 0;
  private readonly view: DataView;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number): number {
    if (this.off + n > this.b.length)
      throw protocolError(`truncated ${this.what} payload (${this.b.length} bytes)`);
    const at = this.off;
    this.off += n;
    return at;
  }
  u8 = () => this.view.getUint8(this.need(1));
  u16 = () => this.view.getUint16(this.need(2), true);
  u32 = () => this.view.getUint32(this.need(4), true);
  i32 = () => this.view.getInt32(this.need(4), true);
  bytes = (n: number) => this.b.slice(this.need(n), this.off);
  str = () => new TextDecoder().decode(this.bytes(this.u8()));
  rest = () => this.b.slice(this.need(this.b.length - this.off), this.b.length);
  remaining = () => this.b.length - this.off;
}

class Writer {
  private readonly parts: number[] = [];
  u8 = (v: number) => {
    this.parts.push(v & 0xff);
    return this;
  };
  u16 = (v: number) => this.u8(v).u8(v >>> 8);
  u32 = (v: number) => this.u16(v & 0xffff).u16(v >>> 16);
  i32 = (v: number) => this.u32(v >>> 0);
  bytes = (b: Uint8Array) => {
    for (const x of b) this.parts.push(x);
    return this;
  };
  str = (s: string) => {
    const b = new TextEncoder().encode(s);
    if (b.length > 63) throw new RangeError(`string longer than 63 bytes: ${s}`);
    return this.u8(b.length).bytes(b);
  };
  done = () => {
    if (this.parts.length > MAX_PAYLOAD) throw new RangeError("payload too long");
    return Uint8Array.from(this.parts);
  };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function flagsOf(features: number): FeatureFlags {
  return {
    cryptoExtra: (features & Feature.CRYPTO_EXTRA) !== 0,
    hwMpi: (features & Feature.HW_MPI) !== 0,
    inlineKeygen: (features & Feature.INLINE_KEYGEN) !== 0,
    hostBuild: (features & Feature.HOST_BUILD) !== 0,
    downloadReboot: (features & Feature.DOWNLOAD_REBOOT) !== 0,
    keySlots: (features & Feature.KEY_SLOTS) !== 0,
    slotCsr: (features & Feature.SLOT_CSR) !== 0,
  };
}

function checked<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw protocolError(`invalid ${what} from device: ${r.error.issues[0]?.message ?? "?"}`, r.error);
  return r.data;
}

function stateName(n: number): JobState {
  const s = JOB_STATES[n];
  if (s === undefined) throw protocolError(`unknown job state ${n} from device`);
  return s;
}

// ---- decoders (device -> host) --------------------------------------------------------------

export function decodeHelloInfo(p: Uint8Array): HelloInfo {
  const r = new Reader(p, "HELLO");
  const protoVersion = r.u8();
  const jobState = stateName(r.u8());
  const features = r.u16();
  const v = {
    protoVersion,
    jobState,
    features,
    flags: flagsOf(features),
    minBits: r.u16(),
    maxBits: r.u16(),
    mbedtlsVersion: r.u32(),
    freeHeap: r.u32(),
    largestFreeBlock: r.u32(),
    wdtTimeoutMs: r.u32(),
    firmwareVersion: r.str(),
    target: r.str(),
    idfVersion: r.str(),
    mbedtlsVersionString: r.str(),
  };
  if (r.remaining() > 0) {
    // The tail after the strings: storage (4 bytes), then the reset reason (4 bytes); anything
    // shorter than a whole field is a truncated payload.
    const flags = r.u16();
    const storage = {
      flags,
      flashEncryption: (flags & StoreFlag.FLASH_ENCRYPTION) !== 0,
      partition: (flags & StoreFlag.PARTITION) !== 0,
      encrypted: (flags & StoreFlag.ENCRYPTED) !== 0,
      secureBoot: (flags & StoreFlag.SECURE_BOOT) !== 0,
      slotsUsed: r.u8(),
      slotsCapacity: r.u8(),
    };
    const resetReason = r.remaining() > 0 ? r.u32() : undefined;
    return checked(
      helloInfoSchema,
      { ...v, storage, ...(resetReason !== undefined ? { resetReason } : {}) },
      "HELLO answer",
    );
  }
  return checked(helloInfoSchema, v, "HELLO answer");
}

export function decodeJobStatus(p: Uint8Array, what = "STATUS"): JobStatus {
  const r = new Reader(p, what);
  const state = stateName(r.u8());
  r.u8();
  const v = {
    state,
    bits: r.u16(),
    jobId: r.u32(),
    exponent: r.u32(),
    elapsedMs: r.u32(),
    rngCalls: r.u32(),
    mbedtlsError: r.i32(),
    privLen: r.u32(),
    pubLen: r.u32(),
    privSha256: hex(r.bytes(32)),
    pubSha256: hex(r.bytes(32)),
    kind: "keygen" as JobKind,
    outLen: 0,
    outSha256: hex(new Uint8Array(32)),
  };
  if (p.length > STATUS_V1_LEN) {
    // The key-slot extension: all 40 bytes, or the payload is truncated.
    const k = r.u8();
    const kind = JOB_KINDS[k];
    if (kind === undefined) throw protocolError(`unknown job kind ${k} from device`);
    r.u8();
    r.u16();
    v.kind = kind;
    v.outLen = r.u32();
    v.outSha256 = hex(r.bytes(32));
  }
  return checked(jobStatusSchema, v, what);
}

export function decodeProgress(p: Uint8Array): Progress {
  const r = new Reader(p, "PROGRESS");
  const v = { jobId: r.u32(), elapsedMs: r.u32(), rngCalls: r.u32(), bits: r.u16() };
  r.u16(); // reserved, but part of the layout: a shorter payload is truncated
  return checked(progressSchema, v, "PROGRESS");
}

export function decodeJobEnd(p: Uint8Array, what: string): JobEnd {
  const r = new Reader(p, what);
  const prevState = stateName(r.u8());
  r.u8();
  r.u16();
  return checked(jobEndSchema, { prevState, jobId: r.u32() }, what);
}

export function decodeReadChunk(p: Uint8Array): ReadChunk {
  const r = new Reader(p, "READ");
  const partNo = r.u8();
  r.u8();
  const length = r.u16();
  const offset = r.u32();
  const data = r.rest();
  const part = PARTS[partNo];
  if (part === undefined) throw protocolError(`READ answer names unknown part ${partNo}`);
  if (data.length !== length)
    throw protocolError(`READ answer says ${length} bytes but carries ${data.length}`);
  return checked(readChunkSchema, { part, offset, data }, "READ answer");
}

export function decodeDeviceError(p: Uint8Array): DeviceError {
  const r = new Reader(p, "ERROR");
  const code = r.u16();
  const name = (Object.entries(DeviceErrorCode).find(([, c]) => c === code)?.[0] ?? "UNKNOWN") as
    | DeviceErrorName
    | "UNKNOWN";
  const v = {
    code,
    name,
    requestType: r.u8(),
    protoVersion: r.u8(),
    message: new TextDecoder().decode(r.rest()).slice(0, 120),
  };
  return checked(deviceErrorSchema, v, "ERROR answer");
}

export function decodeSlotList(p: Uint8Array): SlotList {
  const r = new Reader(p, "SLOT_LIST");
  const total = r.u8();
  const first = r.u8();
  const count = r.u8();
  r.u8();
  const v = {
    total,
    first,
    flags: r.u16(),
    capacity: r.u8(),
    free: r.u8(),
    partitionSize: r.u32(),
    slots: [] as unknown[],
  };
  for (let i = 0; i < count; i++) {
    const keyType = r.u8();
    r.u8();
    const bits = r.u16();
    const pubLen = r.u16();
    r.u16();
    const seq = r.u32();
    v.slots.push({ keyType, bits, pubLen, seq, name: r.str() });
  }
  return checked(slotListSchema, v, "SLOT_LIST answer");
}

export function decodeSlotInfo(p: Uint8Array): SlotInfo {
  const r = new Reader(p, "SLOT_INFO");
  const keyType = r.u8();
  r.u8();
  const bits = r.u16();
  const seq = r.u32();
  const pubLen = r.u16();
  r.u16();
  const pubSha256 = hex(r.bytes(32));
  const name = r.str();
  const pub = r.bytes(pubLen);
  return checked(slotInfoSchema, { keyType, bits, seq, pubSha256, name, pub }, "SLOT_INFO answer");
}

export function decodeSlotDeleted(p: Uint8Array): SlotDeleted {
  const r = new Reader(p, "SLOT_DELETE");
  const seq = r.u32();
  return checked(slotDeletedSchema, { seq, name: r.str() }, "SLOT_DELETE answer");
}

function decodeJobId(p: Uint8Array, what: string): number {
  const jobId = new Reader(p, what).u32();
  if (jobId === 0) throw protocolError(`${what} answer carries job id 0`);
  return jobId;
}

export function decodeBoot(p: Uint8Array): BootInfo {
  const r = new Reader(p, "BOOT");
  const protoVersion = r.u8();
  r.u8();
  const features = r.u16();
  const v = {
    protoVersion,
    features,
    flags: flagsOf(features),
    resetReason: r.u32(),
    firmwareVersion: r.str(),
    target: r.str(),
  };
  return checked(bootSchema, v, "BOOT event");
}

/** Decodes any frame the device sends. Unknown types are returned as kind "unknown" (section 5). */
export function decodeDeviceFrame(f: Frame): DeviceMessage {
  const id = f.requestId;
  const p = f.payload;
  if (f.type === ERROR_RESPONSE_TYPE) return { kind: "error", requestId: id, error: decodeDeviceError(p) };
  if (f.requestId === 0 && (f.type & RESPONSE_FLAG) === 0) {
    switch (f.type) {
      case EventType.BOOT:
        return { kind: "boot", requestId: 0, boot: decodeBoot(p) };
      case EventType.PROGRESS:
        return { kind: "progress", requestId: 0, progress: decodeProgress(p) };
      case EventType.DONE:
        return { kind: "done", requestId: 0, status: decodeJobStatus(p, "DONE event") };
      case EventType.FAILED:
        return { kind: "failed", requestId: 0, status: decodeJobStatus(p, "FAILED event") };
    }
    return { kind: "unknown", requestId: 0, type: f.type };
  }
  switch (f.type & ~RESPONSE_FLAG) {
    case MsgType.HELLO:
      return { kind: "hello", requestId: id, info: decodeHelloInfo(p) };
    case MsgType.PING:
      return { kind: "ping", requestId: id, data: p.slice() };
    case MsgType.KEYGEN:
      return { kind: "keygen", requestId: id, jobId: decodeJobId(p, "KEYGEN") };
    case MsgType.KEEP:
      return { kind: "keep", requestId: id, jobId: decodeJobId(p, "KEEP") };
    case MsgType.CSR:
      return { kind: "csr", requestId: id, jobId: decodeJobId(p, "CSR") };
    case MsgType.SIGN:
      return { kind: "sign", requestId: id, jobId: decodeJobId(p, "SIGN") };
    case MsgType.SLOT_LIST:
      return { kind: "slot-list", requestId: id, list: decodeSlotList(p) };
    case MsgType.SLOT_INFO:
      return { kind: "slot-info", requestId: id, slot: decodeSlotInfo(p) };
    case MsgType.SLOT_DELETE:
      return { kind: "slot-delete", requestId: id, deleted: decodeSlotDeleted(p) };
    case MsgType.STATUS:
      return { kind: "status", requestId: id, status: decodeJobStatus(p) };
    case MsgType.CANCEL:
      return { kind: "cancel", requestId: id, end: decodeJobEnd(p, "CANCEL") };
    case MsgType.RELEASE:
      return { kind: "release", requestId: id, end: decodeJobEnd(p, "RELEASE") };
    case MsgType.READ:
      return { kind: "read", requestId: id, chunk: decodeReadChunk(p) };
    case MsgType.REBOOT:
      return { kind: "reboot", requestId: id };
  }
  return { kind: "unknown", requestId: id, type: f.type };
}

// ---- request encoders (host -> device) ----------------------------------------------------------

export const keygenRequestSchema = z.object({
  bits: z.number().int().min(8).max(0xffff),
  exponent: z.number().int().min(3).max(0xffffffff),
});
export type KeygenRequest = z.infer<typeof keygenRequestSchema>;

export const readRequestSchema = z.object({
  part: z.enum(PARTS),
  offset: u32,
  length: z.number().int().min(1).max(READ_MAX_CHUNK),
});
export type ReadRequest = z.infer<typeof readRequestSchema>;

export const encodeEmpty = (): Uint8Array => new Uint8Array(0);

export function encodePing(data: Uint8Array): Uint8Array {
  if (data.length > MAX_PAYLOAD) throw new RangeError(`ping data over ${MAX_PAYLOAD} bytes`);
  return data.slice();
}

export function encodeKeygenRequest(req: KeygenRequest): Uint8Array {
  const { bits, exponent } = keygenRequestSchema.parse(req);
  return new Writer().u16(bits).u16(0).u32(exponent).done();
}

export function encodeReadRequest(req: ReadRequest): Uint8Array {
  const { part, offset, length } = readRequestSchema.parse(req);
  return new Writer().u8(PARTS.indexOf(part)).u8(0).u16(length).u32(offset).done();
}

export function encodeRebootRequest(mode: RebootMode): Uint8Array {
  return new Writer().u8(REBOOT_MODES.indexOf(mode)).done();
}

export function encodeSlotListRequest(first: number): Uint8Array {
  return new Writer().u8(u8.parse(first)).done();
}

/** SLOT_INFO and SLOT_DELETE requests: the name as a str. */
export function encodeSlotNameRequest(name: string): Uint8Array {
  return new Writer().str(slotNameSchema.parse(name)).done();
}

export const keepRequestSchema = keygenRequestSchema.extend({ name: slotNameSchema, replace: z.boolean() });
export type KeepRequest = z.infer<typeof keepRequestSchema>;

export function encodeKeepRequest(req: KeepRequest): Uint8Array {
  const { bits, exponent, name, replace } = keepRequestSchema.parse(req);
  return new Writer()
    .u16(bits)
    .u16(0)
    .u32(exponent)
    .u8(replace ? 1 : 0)
    .u8(0)
    .u8(0)
    .u8(0)
    .str(name)
    .done();
}

export const sanSchema = z.discriminatedUnion("type", [
  z.object({ type: z.enum(["dns", "email", "uri"]), value: z.string().regex(/^[\x21-\x7e]{1,253}$/) }),
  z.object({
    type: z.literal("ip"),
    value: z.instanceof(Uint8Array).refine((b) => b.length === 4 || b.length === 16, {
      message: "an IP address is 4 or 16 bytes",
    }),
  }),
]);
export type San = z.infer<typeof sanSchema>;

export const csrRequestSchema = z.object({
  name: slotNameSchema,
  subject: z
    .string()
    .regex(/^[\x20-\x7e]+$/, { message: "printable ASCII" })
    .max(CSR_MAX_SUBJECT),
  sans: z.array(sanSchema).max(CSR_MAX_SANS),
});
export type CsrRequest = z.infer<typeof csrRequestSchema>;

export function encodeCsrRequest(req: CsrRequest): Uint8Array {
  const { name, subject, sans } = csrRequestSchema.parse(req);
  const w = new Writer().u8(0).u8(0).u16(subject.length).str(name).bytes(new TextEncoder().encode(subject));
  w.u8(sans.length);
  for (const s of sans) {
    const value = s.type === "ip" ? s.value : new TextEncoder().encode(s.value);
    w.u8(SAN_TYPES[s.type]).u8(value.length).bytes(value);
  }
  return w.done();
}

export const signRequestSchema = z.object({
  name: slotNameSchema,
  scheme: z.enum(SIGN_SCHEMES),
  digest: z
    .instanceof(Uint8Array)
    .refine((b) => b.length === 32, { message: "a SHA-256 digest is 32 bytes" }),
});
export type SignRequest = z.infer<typeof signRequestSchema>;

export function encodeSignRequest(req: SignRequest): Uint8Array {
  const { name, scheme, digest } = signRequestSchema.parse(req);
  return new Writer().u8(SIGN_SCHEMES.indexOf(scheme)).u8(0).u16(0).bytes(digest).str(name).done();
}

// ---- device-side encoders and request decoders (TS responder in tests, tools) -----------------

export function encodeHelloInfo(h: Omit<HelloInfo, "flags">): Uint8Array {
  const w = new Writer()
    .u8(h.protoVersion)
    .u8(JOB_STATES.indexOf(h.jobState))
    .u16(h.features)
    .u16(h.minBits)
    .u16(h.maxBits)
    .u32(h.mbedtlsVersion)
    .u32(h.freeHeap)
    .u32(h.largestFreeBlock)
    .u32(h.wdtTimeoutMs)
    .str(h.firmwareVersion)
    .str(h.target)
    .str(h.idfVersion)
    .str(h.mbedtlsVersionString);
  if (h.storage) w.u16(h.storage.flags).u8(h.storage.slotsUsed).u8(h.storage.slotsCapacity);
  if (h.storage && h.resetReason !== undefined) w.u32(h.resetReason);
  return w.done();
}

/** The 136-byte status (firmware with key slots); `v1` writes the 96 bytes of older firmware. */
export function encodeJobStatus(s: JobStatus, opts: { v1?: boolean } = {}): Uint8Array {
  const w = new Writer()
    .u8(JOB_STATES.indexOf(s.state))
    .u8(0)
    .u16(s.bits)
    .u32(s.jobId)
    .u32(s.exponent)
    .u32(s.elapsedMs)
    .u32(s.rngCalls)
    .i32(s.mbedtlsError)
    .u32(s.privLen)
    .u32(s.pubLen)
    .bytes(Buffer.from(s.privSha256, "hex"))
    .bytes(Buffer.from(s.pubSha256, "hex"));
  if (opts.v1) return w.done();
  return w
    .u8(JOB_KINDS.indexOf(s.kind))
    .u8(0)
    .u16(0)
    .u32(s.outLen)
    .bytes(Buffer.from(s.outSha256, "hex"))
    .done();
}

export function encodeSlotList(l: SlotList): Uint8Array {
  const w = new Writer()
    .u8(l.total)
    .u8(l.first)
    .u8(l.slots.length)
    .u8(0)
    .u16(l.flags)
    .u8(l.capacity)
    .u8(l.free)
    .u32(l.partitionSize);
  for (const e of l.slots) w.u8(e.keyType).u8(0).u16(e.bits).u16(e.pubLen).u16(0).u32(e.seq).str(e.name);
  return w.done();
}

export function encodeSlotInfo(i: SlotInfo): Uint8Array {
  return new Writer()
    .u8(i.keyType)
    .u8(0)
    .u16(i.bits)
    .u32(i.seq)
    .u16(i.pub.length)
    .u16(0)
    .bytes(Buffer.from(i.pubSha256, "hex"))
    .str(i.name)
    .bytes(i.pub)
    .done();
}

export function encodeSlotDeleted(d: SlotDeleted): Uint8Array {
  return new Writer().u32(d.seq).str(d.name).done();
}

export function encodeProgress(p: Progress): Uint8Array {
  return new Writer().u32(p.jobId).u32(p.elapsedMs).u32(p.rngCalls).u16(p.bits).u16(0).done();
}

export function encodeJobEnd(e: JobEnd): Uint8Array {
  return new Writer().u8(JOB_STATES.indexOf(e.prevState)).u8(0).u16(0).u32(e.jobId).done();
}

export function encodeKeygenAccepted(jobId: number): Uint8Array {
  return new Writer().u32(jobId).done();
}

export function encodeReadChunk(c: { part: KeyPart; offset: number; data: Uint8Array }): Uint8Array {
  return new Writer().u8(PARTS.indexOf(c.part)).u8(0).u16(c.data.length).u32(c.offset).bytes(c.data).done();
}

export function encodeDeviceError(e: Omit<DeviceError, "name">): Uint8Array {
  return new Writer()
    .u16(e.code)
    .u8(e.requestType)
    .u8(e.protoVersion)
    .bytes(new TextEncoder().encode(e.message.slice(0, 120)))
    .done();
}

export function encodeBoot(b: Omit<BootInfo, "flags">): Uint8Array {
  return new Writer()
    .u8(b.protoVersion)
    .u8(0)
    .u16(b.features)
    .u32(b.resetReason)
    .str(b.firmwareVersion)
    .str(b.target)
    .done();
}

export type DeviceRequest =
  | { kind: "hello" | "status" | "cancel" | "release" }
  | { kind: "ping"; data: Uint8Array }
  | { kind: "keygen"; bits: number; exponent: number }
  | { kind: "read"; part: number; offset: number; length: number }
  | { kind: "reboot"; mode: number }
  | { kind: "slot-list"; first: number }
  | { kind: "slot-info" | "slot-delete"; name: string }
  | { kind: "keep"; bits: number; exponent: number; replace: boolean; name: string }
  | { kind: "csr"; name: string; subject: string; sans: Array<{ type: number; value: Uint8Array }> }
  | { kind: "sign"; name: string; scheme: number; hash: number; digest: Uint8Array }
  | { kind: "unknown"; type: number };

/** Device side: parses a request payload (throws RsagenError E_DEVICE_PROTOCOL when too short). */
export function decodeRequest(type: number, p: Uint8Array): DeviceRequest {
  switch (type) {
    case MsgType.HELLO:
      return { kind: "hello" };
    case MsgType.STATUS:
      return { kind: "status" };
    case MsgType.CANCEL:
      return { kind: "cancel" };
    case MsgType.RELEASE:
      return { kind: "release" };
    case MsgType.PING:
      return { kind: "ping", data: p.slice() };
    case MsgType.KEYGEN: {
      const r = new Reader(p, "KEYGEN request");
      const bits = r.u16();
      r.u16();
      return { kind: "keygen", bits, exponent: r.u32() };
    }
    case MsgType.READ: {
      const r = new Reader(p, "READ request");
      const part = r.u8();
      r.u8();
      const length = r.u16();
      return { kind: "read", part, length, offset: r.u32() };
    }
    case MsgType.REBOOT:
      return { kind: "reboot", mode: new Reader(p, "REBOOT request").u8() };
    case MsgType.SLOT_LIST:
      return { kind: "slot-list", first: p.length > 0 ? p[0]! : 0 };
    case MsgType.SLOT_INFO:
      return { kind: "slot-info", name: new Reader(p, "SLOT_INFO request").str() };
    case MsgType.SLOT_DELETE:
      return { kind: "slot-delete", name: new Reader(p, "SLOT_DELETE request").str() };
    case MsgType.KEEP: {
      const r = new Reader(p, "KEEP request");
      const bits = r.u16();
      r.u16();
      const exponent = r.u32();
      const flags = r.u8();
      r.bytes(3);
      return { kind: "keep", bits, exponent, replace: (flags & 1) !== 0, name: r.str() };
    }
    case MsgType.CSR: {
      const r = new Reader(p, "CSR request");
      r.u8();
      r.u8();
      const subjectLen = r.u16();
      const name = r.str();
      const subject = new TextDecoder().decode(r.bytes(subjectLen));
      const sans: Array<{ type: number; value: Uint8Array }> = [];
      for (let n = r.u8(); n > 0; n--) {
        const type = r.u8();
        sans.push({ type, value: r.bytes(r.u8()) });
      }
      return { kind: "csr", name, subject, sans };
    }
    case MsgType.SIGN: {
      const r = new Reader(p, "SIGN request");
      const scheme = r.u8();
      const hash = r.u8();
      r.u16();
      const digest = r.bytes(32);
      return { kind: "sign", scheme, hash, digest, name: r.str() };
    }
  }
  return { kind: "unknown", type };
}
