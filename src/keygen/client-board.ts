/**
 * The Board interface over the protocol engineer's DeviceClient (src/device/client.ts) and a serial
 * Transport (src/serial/transport.ts). Translation only: names of states and parts, hex digests to
 * bytes, device ERROR answers to DeviceRefusal, and the console byte counts connect.ts judges.
 */
import { DeviceClient, type DeviceEvent, DeviceRequestError } from "../device/client.js";
import { duplexFromTransport } from "../device/duplex.js";
import {
  type CsrRequest,
  type KeepRequest,
  MsgType,
  type SignRequest,
  type SlotDeleted,
  type SlotInfo,
  type SlotList,
  type JobStatus as WireStatus,
} from "../device/messages.js";
import { RsagenError } from "../errors.js";
import type { Transport } from "../serial/transport.js";
import {
  type Board,
  type BoardEvent,
  type DeviceInfo,
  DeviceRefusal,
  type JobEnd,
  type JobStatus,
  type KeyPart,
  type RequestOptions,
  stateNumber,
} from "./board.js";

const isGarbage = (b: number) =>
  (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x1b) || b >= 0x7f;

function status(s: WireStatus): JobStatus {
  return {
    state: stateNumber(s.state),
    bits: s.bits,
    jobId: s.jobId,
    exponent: s.exponent,
    elapsedMs: s.elapsedMs,
    rngCalls: s.rngCalls,
    mbedtlsError: s.mbedtlsError,
    privateLength: s.privLen,
    publicLength: s.pubLen,
    privateSha256: Buffer.from(s.privSha256, "hex"),
    publicSha256: Buffer.from(s.pubSha256, "hex"),
    kind: s.kind,
    outputLength: s.outLen,
    outputSha256: Buffer.from(s.outSha256, "hex"),
  };
}

async function refusals<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof DeviceRequestError) {
      throw new DeviceRefusal(err.device.code, err.device.requestType, err.device.message || err.device.name);
    }
    throw err;
  }
}

export class ClientBoard implements Board {
  readonly client: DeviceClient;
  private garbageBytes = 0;

  constructor(readonly transport: Transport) {
    this.client = new DeviceClient(duplexFromTransport(transport));
    this.client.on("console", (bytes) => {
      for (const b of bytes) if (isGarbage(b)) this.garbageBytes++;
    });
  }

  get baud(): number {
    return this.transport.baud;
  }

  get canReset(): boolean {
    return this.transport.capabilities.hasResetLines;
  }

  async hello(opts?: RequestOptions): Promise<DeviceInfo> {
    // request() rather than hello(): connect.ts reports a version mismatch itself, with the version.
    const m = await refusals(this.client.request(MsgType.HELLO, new Uint8Array(0), opts));
    if (m.kind !== "hello")
      throw new RsagenError("E_DEVICE_PROTOCOL", `unexpected ${m.kind} answer to HELLO`);
    const h = m.info;
    return {
      protoVersion: h.protoVersion,
      jobState: stateNumber(h.jobState),
      features: h.features,
      minBits: h.minBits,
      maxBits: h.maxBits,
      mbedtlsVersionNumber: h.mbedtlsVersion,
      freeHeap: h.freeHeap,
      largestFreeBlock: h.largestFreeBlock,
      wdtTimeoutMs: h.wdtTimeoutMs,
      firmwareVersion: h.firmwareVersion,
      target: h.target,
      idfVersion: h.idfVersion,
      mbedtlsVersion: h.mbedtlsVersionString,
      ...(h.storage
        ? {
            storage: {
              flashEncryption: h.storage.flashEncryption,
              secureBoot: h.storage.secureBoot,
              partition: h.storage.partition,
              encrypted: h.storage.encrypted,
              slotsUsed: h.storage.slotsUsed,
              slotsCapacity: h.storage.slotsCapacity,
            },
          }
        : {}),
      ...(h.resetReason !== undefined ? { resetReason: h.resetReason } : {}),
    };
  }

  async ping(payload: Uint8Array, opts?: RequestOptions): Promise<Uint8Array> {
    await refusals(this.client.ping(payload, opts)); // the client checks the echo
    return payload;
  }

  keygen(bits: number, exponent: number, opts?: RequestOptions): Promise<number> {
    return refusals(this.client.keygen({ bits, exponent }, opts));
  }

  async status(opts?: RequestOptions): Promise<JobStatus> {
    return status(await refusals(this.client.status(opts)));
  }

  async cancel(opts?: RequestOptions): Promise<JobEnd> {
    const e = await refusals(this.client.cancel(opts));
    return { previousState: stateNumber(e.prevState), jobId: e.jobId };
  }

  async release(opts?: RequestOptions): Promise<JobEnd> {
    const e = await refusals(this.client.release(opts));
    return { previousState: stateNumber(e.prevState), jobId: e.jobId };
  }

  async read(part: KeyPart, offset: number, length: number, opts?: RequestOptions): Promise<Uint8Array> {
    const c = await refusals(this.client.read(part, offset, length, opts));
    return c.data;
  }

  // Key slots (src/slots/board.ts): the device's refusals stay DeviceRequestErrors, which carry
  // the slot exit codes (E_SLOT_NOT_FOUND, E_SLOTS_FULL, ...).
  keep(req: KeepRequest, opts?: RequestOptions): Promise<number> {
    return this.client.keep(req, opts);
  }

  slotList(opts?: RequestOptions): Promise<SlotList> {
    return this.client.slotListAll(opts);
  }

  slotInfo(name: string, opts?: RequestOptions): Promise<SlotInfo> {
    return this.client.slotInfo(name, opts);
  }

  slotDelete(name: string, opts?: RequestOptions): Promise<SlotDeleted> {
    return this.client.slotDelete(name, opts);
  }

  csr(req: CsrRequest, opts?: RequestOptions): Promise<number> {
    return this.client.csr(req, opts);
  }

  sign(req: SignRequest, opts?: RequestOptions): Promise<number> {
    return this.client.sign(req, opts);
  }

  onEvent(listener: (ev: BoardEvent) => void): () => void {
    const h = (e: DeviceEvent) => {
      if (e.kind === "boot") listener({ kind: "boot", boot: e.boot });
      else if (e.kind === "progress") listener({ kind: "progress", progress: e.progress });
      else if (e.kind === "done" || e.kind === "failed") listener({ kind: e.kind, status: status(e.status) });
    };
    this.client.on("event", h);
    return () => this.client.off("event", h);
  }

  onText(listener: (line: string) => void): () => void {
    this.client.on("text", listener);
    return () => this.client.off("text", listener);
  }

  /** Classic auto-reset circuit (esptool's hard reset): EN low for 100 ms with GPIO0 released. */
  async resetIntoApp(): Promise<void> {
    await this.transport.setSignals({ dtr: false, rts: true });
    await new Promise((r) => setTimeout(r, 100));
    await this.transport.setSignals({ dtr: false, rts: false });
  }

  noiseStats(): { garbageBytes: number; textBytes: number; badFrames: number } {
    const d = this.client.stats.decoder;
    return {
      garbageBytes: this.garbageBytes,
      textBytes: d.textBytes,
      badFrames: d.crcErrors + d.headerErrors,
    };
  }

  /** Stops the client (the caller closes the transport it opened). */
  async close(): Promise<void> {
    this.client.close();
  }
}
