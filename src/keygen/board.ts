/**
 * What the keygen orchestration needs from a connected board, in protocol terms (docs/protocol.md).
 * The implementation over the protocol engineer's DeviceClient is in client-board.ts; keeping the
 * orchestration on this narrow interface keeps it readable and lets tests drive it over any wire.
 */

import { RsagenError } from "../errors.js";

/** Job states, docs/protocol.md section 2. */
export const JobState = { IDLE: 0, RUNNING: 1, DONE: 2, FAILED: 3, CANCELLED: 4 } as const;
export type JobStateValue = (typeof JobState)[keyof typeof JobState];

/** Feature bits, docs/protocol.md section 2. */
export const Feature = {
  CRYPTO_EXTRA: 1 << 0,
  HW_MPI: 1 << 1,
  INLINE_KEYGEN: 1 << 2,
  HOST_BUILD: 1 << 3,
  DOWNLOAD_REBOOT: 1 << 4,
} as const;

/** Device ERROR codes, docs/protocol.md section 2. */
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
} as const;

export const KeyPart = { PRIVATE: 0, PUBLIC: 1 } as const;
export type KeyPartValue = (typeof KeyPart)[keyof typeof KeyPart];

/** Largest READ chunk: payload limit 1024 minus the 8-byte READ header. */
export const READ_MAX_CHUNK = 1016;

export interface DeviceInfo {
  protoVersion: number;
  jobState: number;
  features: number;
  minBits: number;
  maxBits: number;
  mbedtlsVersionNumber: number;
  freeHeap: number;
  largestFreeBlock: number;
  wdtTimeoutMs: number;
  firmwareVersion: string;
  target: string;
  idfVersion: string;
  mbedtlsVersion: string;
}

export interface JobStatus {
  state: number;
  bits: number;
  jobId: number;
  exponent: number;
  elapsedMs: number;
  rngCalls: number;
  mbedtlsError: number;
  privateLength: number;
  publicLength: number;
  privateSha256: Uint8Array;
  publicSha256: Uint8Array;
}

export interface JobEnd {
  previousState: number;
  jobId: number;
}

export interface ProgressEvent {
  jobId: number;
  elapsedMs: number;
  rngCalls: number;
  bits: number;
}

export interface BootEvent {
  protoVersion: number;
  features: number;
  resetReason: number;
  firmwareVersion: string;
  target: string;
}

export type BoardEvent =
  | { kind: "boot"; boot: BootEvent }
  | { kind: "progress"; progress: ProgressEvent }
  | { kind: "done"; status: JobStatus }
  | { kind: "failed"; status: JobStatus };

/** An ERROR frame from the device, as the Board implementation reports it. */
export class DeviceRefusal extends Error {
  constructor(
    readonly deviceCode: number,
    readonly requestType: number,
    readonly deviceMessage: string,
  ) {
    super(`device refused request 0x${requestType.toString(16)}: code ${deviceCode} (${deviceMessage})`);
    this.name = "DeviceRefusal";
  }
}

/**
 * A request that got no answer even after the client's resends (both clients word it "no answer
 * to <TYPE> ..."): the board is silent, hangs or resets. Other E_DEVICE_PROTOCOL errors (a version
 * mismatch, a malformed answer) are final.
 */
export function isNoAnswer(err: unknown): err is RsagenError {
  return err instanceof RsagenError && err.code === "E_DEVICE_PROTOCOL" && /^no answer to /.test(err.message);
}

export interface RequestOptions {
  /** Per-try timeout in ms (the implementation's default otherwise). */
  timeoutMs?: number;
  /** Resends after a timeout. */
  retries?: number;
}

/**
 * A board speaking the rsagen protocol. Requests reject with DeviceRefusal for an ERROR answer and
 * with an RsagenError (E_DEVICE_PROTOCOL after the retries, E_PORT_LOST...) otherwise.
 */
export interface Board {
  hello(opts?: RequestOptions): Promise<DeviceInfo>;
  ping(payload: Uint8Array, opts?: RequestOptions): Promise<Uint8Array>;
  keygen(bits: number, exponent: number, opts?: RequestOptions): Promise<number>;
  status(opts?: RequestOptions): Promise<JobStatus>;
  cancel(opts?: RequestOptions): Promise<JobEnd>;
  release(opts?: RequestOptions): Promise<JobEnd>;
  read(part: KeyPartValue, offset: number, length: number, opts?: RequestOptions): Promise<Uint8Array>;
  /** Subscribes to device events; returns the unsubscribe function. */
  onEvent(listener: (ev: BoardEvent) => void): () => void;
  /** Subscribes to console text (log lines without the line end); returns the unsubscribe function. */
  onText(listener: (line: string) => void): () => void;
  /** Line rate in baud, when known (sizes timeouts). */
  readonly baud?: number;
  /** Drives the reset circuit (RTS = EN, DTR = GPIO0) if the port has the lines. */
  readonly canReset: boolean;
  resetIntoApp(): Promise<void>;
  /** Bytes that were neither frames nor printable console text, and frames dropped for bad CRC. */
  noiseStats(): { garbageBytes: number; textBytes: number; badFrames: number };
  close(): Promise<void>;
}
