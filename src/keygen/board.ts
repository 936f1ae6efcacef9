/**
 * What the keygen orchestration needs from a connected board, in protocol terms (docs/protocol.md).
 * The implementation over the protocol engineer's DeviceClient is in client-board.ts; keeping the
 * orchestration on this narrow interface keeps it readable.
 */

import {
  type BootInfo,
  JOB_STATES,
  type JobKind,
  type JobState as JobStateName,
  type KeyPart,
  type Progress,
} from "../device/messages.js";
import { RsagenError } from "../errors.js";

// Protocol constants have one home, src/device/messages.ts; re-exported for the keygen modules.
export { DeviceErrorCode, Feature, type KeyPart, READ_MAX_CHUNK } from "../device/messages.js";

/** A job state name of the device codec as its number on the wire. */
export const stateNumber = (s: JobStateName): number => JOB_STATES.indexOf(s);

/**
 * Job states as numbers on the wire (docs/protocol.md section 2): the index of each name in the
 * device codec's JOB_STATES. The keygen layer keeps the numbers (`rsagen info --json` reports them).
 */
export const JobState = {
  IDLE: stateNumber("idle"),
  RUNNING: stateNumber("running"),
  DONE: stateNumber("done"),
  FAILED: stateNumber("failed"),
  CANCELLED: stateNumber("cancelled"),
} as const;

/*
 * The HELLO, STATUS and CANCEL/RELEASE answers as the keygen layer uses them: states as numbers,
 * digests as bytes, fuller field names. client-board.ts translates from the device codec's types;
 * DeviceInfo is also the shape of `rsagen info --json`.
 */
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
  /** Firmware with key slots: flash encryption, secure boot, the key partition and its slots. */
  storage?: {
    flashEncryption: boolean;
    secureBoot: boolean;
    partition: boolean;
    encrypted: boolean;
    slotsUsed: number;
    slotsCapacity: number;
  };
  /** esp_reset_reason_t of the board's last reset (firmware that reports it in HELLO). */
  resetReason?: number;
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
  /** keygen, keep (private key kept in a slot), csr or sign; keygen for firmware before key slots. */
  kind?: JobKind;
  /** A CSR or SIGN job's output (READ part "out"). */
  outputLength?: number;
  outputSha256?: Uint8Array;
}

export interface JobEnd {
  previousState: number;
  jobId: number;
}

export type BoardEvent =
  | { kind: "boot"; boot: BootInfo }
  | { kind: "progress"; progress: Progress }
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
  read(part: KeyPart, offset: number, length: number, opts?: RequestOptions): Promise<Uint8Array>;
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
