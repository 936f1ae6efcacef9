/**
 * Decoders for the message payloads keygen uses (docs/protocol.md section 3). Every decoder checks
 * the payload is at least as long as its layout (trailing bytes are allowed: compatible additions)
 * and turns a short one into E_DEVICE_PROTOCOL.
 */
import { RsagenError } from "../errors.js";
import type { BootEvent, DeviceInfo, JobEnd, JobStatus, ProgressEvent } from "./board.js";

class Reader {
  private off = 0;
  private readonly view: DataView;
  constructor(
    private readonly p: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(p.buffer, p.byteOffset, p.byteLength);
  }
  private need(n: number): number {
    if (this.off + n > this.p.length) {
      throw new RsagenError(
        "E_DEVICE_PROTOCOL",
        `the board sent a ${this.what} payload of ${this.p.length} bytes, too short for its layout`,
        "rebuild and flash the firmware with this rsagen",
      );
    }
    const o = this.off;
    this.off += n;
    return o;
  }
  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  bytes(n: number): Uint8Array {
    const o = this.need(n);
    return this.p.slice(o, o + n);
  }
  str(): string {
    const n = this.u8();
    return Buffer.from(this.bytes(n)).toString("utf8");
  }
}

export function decodeHello(p: Uint8Array): DeviceInfo {
  const r = new Reader(p, "HELLO");
  // Byte 0 is the protocol version in every version (section 5): read it before anything else so
  // a mismatch is reported as such even if the rest of the layout differs.
  const protoVersion = r.u8();
  if (protoVersion !== 1) {
    return {
      protoVersion,
      jobState: 0,
      features: 0,
      minBits: 0,
      maxBits: 0,
      mbedtlsVersionNumber: 0,
      freeHeap: 0,
      largestFreeBlock: 0,
      wdtTimeoutMs: 0,
      firmwareVersion: "?",
      target: "?",
      idfVersion: "?",
      mbedtlsVersion: "?",
    };
  }
  return {
    protoVersion,
    jobState: r.u8(),
    features: r.u16(),
    minBits: r.u16(),
    maxBits: r.u16(),
    mbedtlsVersionNumber: r.u32(),
    freeHeap: r.u32(),
    largestFreeBlock: r.u32(),
    wdtTimeoutMs: r.u32(),
    firmwareVersion: r.str(),
    target: r.str(),
    idfVersion: r.str(),
    mbedtlsVersion: r.str(),
  };
}

export function decodeStatus(p: Uint8Array): JobStatus {
  const r = new Reader(p, "STATUS");
  const state = r.u8();
  r.u8();
  return {
    state,
    bits: r.u16(),
    jobId: r.u32(),
    exponent: r.u32(),
    elapsedMs: r.u32(),
    rngCalls: r.u32(),
    mbedtlsError: r.i32(),
    privateLength: r.u32(),
    publicLength: r.u32(),
    privateSha256: r.bytes(32),
    publicSha256: r.bytes(32),
  };
}

export function decodeJobEnd(p: Uint8Array): JobEnd {
  const r = new Reader(p, "job end");
  const previousState = r.u8();
  r.u8();
  r.u16();
  return { previousState, jobId: r.u32() };
}

export function decodeProgress(p: Uint8Array): ProgressEvent {
  const r = new Reader(p, "PROGRESS");
  return { jobId: r.u32(), elapsedMs: r.u32(), rngCalls: r.u32(), bits: r.u16() };
}

export function decodeBoot(p: Uint8Array): BootEvent {
  const r = new Reader(p, "BOOT");
  const protoVersion = r.u8();
  r.u8();
  const features = r.u16();
  const resetReason = r.u32();
  return { protoVersion, features, resetReason, firmwareVersion: r.str(), target: r.str() };
}

export function decodeError(p: Uint8Array): {
  code: number;
  requestType: number;
  protoVersion: number;
  message: string;
} {
  const r = new Reader(p, "ERROR");
  const code = r.u16();
  const requestType = r.u8();
  const protoVersion = r.u8();
  return { code, requestType, protoVersion, message: Buffer.from(p.subarray(4)).toString("latin1") };
}

/** READ response: the echoed 8-byte header, then the bytes. */
export function decodeRead(p: Uint8Array): {
  part: number;
  length: number;
  offset: number;
  data: Uint8Array;
} {
  const r = new Reader(p, "READ");
  const part = r.u8();
  r.u8();
  const length = r.u16();
  const offset = r.u32();
  return { part, length, offset, data: r.bytes(length) };
}

export function encodeKeygen(bits: number, exponent: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint16(0, bits, true);
  v.setUint32(4, exponent, true);
  return b;
}

export function encodeRead(part: number, offset: number, length: number): Uint8Array {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, part);
  v.setUint16(2, length, true);
  v.setUint32(4, offset, true);
  return b;
}
