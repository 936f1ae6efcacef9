/**
 * A small device written in TypeScript with the project's own codec, standing in for the firmware
 * in client tests: it answers every request of docs/protocol.md, generates real RSA keys with
 * node:crypto, interleaves ESP-IDF style log lines, and has fault knobs (dropped answers, bit
 * flips, another protocol version, slow cancel).
 */
import { createHash, generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import type { ByteDuplex } from "../../src/device/duplex.js";
import { encodeFrame, type Frame, FrameDecoder, RESPONSE_FLAG } from "../../src/device/frame.js";
import {
  DeviceErrorCode,
  decodeRequest,
  ERROR_RESPONSE_TYPE,
  EventType,
  encodeBoot,
  encodeDeviceError,
  encodeHelloInfo,
  encodeJobEnd,
  encodeJobStatus,
  encodeKeygenAccepted,
  encodeProgress,
  encodeReadChunk,
  type JobState,
  type JobStatus,
  MsgType,
  READ_MAX_CHUNK,
} from "../../src/device/messages.js";

const genKeyPair = promisify(generateKeyPair);

export interface ResponderOptions {
  /** Version byte of every frame it sends and expects. */
  version?: number;
  /** Return true to swallow the answer to this request (the client must retry). */
  dropAnswer?: (req: Frame, nth: number) => boolean;
  /** Milliseconds to wait before answering this request (blocks the queue, like a busy loop). */
  delayAnswer?: (req: Frame, nth: number) => number;
  /** Flip one bit in every n-th frame sent (0 = never). */
  corruptEvery?: number;
  /** Minimum simulated generation time. */
  keygenMs?: number;
  progressMs?: number;
  /** How long the simulated task takes to exit after a cancel. */
  cancelMs?: number;
  /** Log line written before every answer. */
  chatty?: boolean;
}

interface Job {
  id: number;
  state: JobState;
  bits: number;
  exponent: number;
  started: number;
  endedMs: number;
  rngCalls: number;
  priv: Uint8Array;
  pub: Uint8Array;
  timer?: NodeJS.Timeout;
  cancelled: boolean;
}

export class Responder {
  readonly requests: Frame[] = [];
  jobsStarted = 0;
  private readonly decoder = new FrameDecoder();
  private job: Job | undefined;
  private lastKeygen: { id: number; payload: string; answer: Uint8Array } | undefined;
  private nextJobId = 1;
  private sent = 0;
  private readonly t0 = Date.now();
  private readonly opts: Required<ResponderOptions>;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly io: ByteDuplex,
    opts: ResponderOptions = {},
  ) {
    this.opts = {
      version: 1,
      dropAnswer: () => false,
      delayAnswer: () => 0,
      corruptEvery: 0,
      keygenMs: 0,
      progressMs: 100,
      cancelMs: 50,
      chatty: true,
      ...opts,
    };
    io.onData((chunk) => {
      for (const item of this.decoder.push(chunk)) {
        // Requests run one at a time in arrival order, like the firmware's command loop.
        if (item.kind === "frame") this.queue = this.queue.then(() => this.handle(item));
      }
    });
  }

  async boot(): Promise<void> {
    await this.log("I (0) rsagen: command loop ready");
    await this.send(
      EventType.BOOT,
      0,
      encodeBoot({
        protoVersion: this.opts.version,
        features: 0x000b,
        resetReason: 1,
        firmwareVersion: "0.1.0",
        target: "esp32",
      }),
    );
  }

  /** Stops timers (test teardown). */
  stop(): void {
    if (this.job?.timer) clearInterval(this.job.timer);
  }

  private async log(text: string): Promise<void> {
    await this.io.write(Buffer.from(`${text}\r\n`));
  }

  private async send(type: number, id: number, payload: Uint8Array): Promise<void> {
    let f = encodeFrame(type, id, payload, { version: this.opts.version });
    this.sent++;
    if (this.opts.corruptEvery > 0 && this.sent % this.opts.corruptEvery === 0) {
      f = f.slice();
      const bit = (this.sent * 7919) % (f.length * 8);
      f[bit >> 3]! ^= 1 << (bit & 7);
    }
    await this.io.write(f);
  }

  private async answer(req: Frame, payload: Uint8Array): Promise<void> {
    if (this.opts.chatty)
      await this.log(`D (${Date.now() - this.t0}) cmd: type 0x${req.type.toString(16)} id ${req.requestId}`);
    const nth = this.requests.filter((r) => r.requestId === req.requestId && r.type === req.type).length;
    if (this.opts.dropAnswer(req, nth)) return;
    const delay = this.opts.delayAnswer(req, nth);
    if (delay > 0) await new Promise((res) => setTimeout(res, delay));
    await this.send(req.type | RESPONSE_FLAG, req.requestId, payload);
  }

  private async error(req: Frame, code: number, message: string): Promise<void> {
    const nth = this.requests.filter((r) => r.requestId === req.requestId && r.type === req.type).length;
    if (this.opts.dropAnswer(req, nth)) return;
    await this.send(
      ERROR_RESPONSE_TYPE,
      req.requestId,
      encodeDeviceError({ code, requestType: req.type, protoVersion: this.opts.version, message }),
    );
  }

  private status(): JobStatus {
    const j = this.job;
    const zero = "0".repeat(64);
    if (!j)
      return {
        state: "idle",
        bits: 0,
        jobId: 0,
        exponent: 0,
        elapsedMs: 0,
        rngCalls: 0,
        mbedtlsError: 0,
        privLen: 0,
        pubLen: 0,
        privSha256: zero,
        pubSha256: zero,
        kind: "keygen",
        outLen: 0,
        outSha256: zero,
      };
    const done = j.state === "done";
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    return {
      state: j.state,
      bits: j.bits,
      jobId: j.id,
      exponent: j.exponent,
      elapsedMs: j.state === "running" ? Date.now() - j.started : j.endedMs,
      rngCalls: j.rngCalls,
      mbedtlsError: 0,
      privLen: done ? j.priv.length : 0,
      pubLen: done ? j.pub.length : 0,
      privSha256: done ? sha(j.priv) : zero,
      pubSha256: done ? sha(j.pub) : zero,
      kind: "keygen",
      outLen: 0,
      outSha256: zero,
    };
  }

  private freeJob(): void {
    if (!this.job) return;
    if (this.job.timer) clearInterval(this.job.timer);
    this.job.priv.fill(0);
    this.job.pub.fill(0);
    this.job = undefined;
    this.lastKeygen = undefined;
  }

  private async handle(req: Frame): Promise<void> {
    this.requests.push(req);
    const type = req.type;
    if (req.version !== this.opts.version && type !== MsgType.HELLO)
      return this.error(req, DeviceErrorCode.VERSION, `protocol v${this.opts.version}`);
    let r: ReturnType<typeof decodeRequest>;
    try {
      r = decodeRequest(type, req.payload);
    } catch {
      return this.error(req, DeviceErrorCode.BAD_ARGS, "short payload");
    }
    switch (r.kind) {
      case "hello":
        return this.answer(
          req,
          encodeHelloInfo({
            protoVersion: this.opts.version,
            jobState: this.job?.state ?? "idle",
            features: 0x000b,
            minBits: 1024,
            maxBits: 4096,
            mbedtlsVersion: 0x03060600,
            freeHeap: 200000,
            largestFreeBlock: 110000,
            wdtTimeoutMs: 5000,
            firmwareVersion: "0.1.0",
            target: "esp32",
            idfVersion: "host",
            mbedtlsVersionString: "Mbed TLS 3.6.6",
          }),
        );
      case "ping":
        return this.answer(req, r.data);
      case "status":
        return this.answer(req, encodeJobStatus(this.status()));
      case "keygen": {
        const payload = Buffer.from(req.payload).toString("hex");
        if (this.job && this.lastKeygen?.id === req.requestId && this.lastKeygen.payload === payload)
          return this.answer(req, this.lastKeygen.answer); // duplicate of the accepted request
        if (this.job) return this.error(req, DeviceErrorCode.BUSY, "job exists");
        if (r.bits < 1024 || r.bits > 4096 || r.bits % 8 !== 0 || r.exponent < 3 || r.exponent % 2 === 0)
          return this.error(req, DeviceErrorCode.BAD_ARGS, "bits or exponent");
        this.startJob(r.bits, r.exponent);
        const answer = encodeKeygenAccepted(this.job!.id);
        this.lastKeygen = { id: req.requestId, payload, answer };
        return this.answer(req, answer);
      }
      case "cancel": {
        const j = this.job;
        const prevState = j?.state ?? "idle";
        if (j?.state === "running") {
          j.cancelled = true;
          await new Promise((res) => setTimeout(res, this.opts.cancelMs)); // the task exits
        }
        this.freeJob();
        return this.answer(req, encodeJobEnd({ prevState, jobId: j?.id ?? 0 }));
      }
      case "release": {
        const j = this.job;
        if (j?.state === "running") return this.error(req, DeviceErrorCode.BUSY, "cancel first");
        this.freeJob();
        return this.answer(req, encodeJobEnd({ prevState: j?.state ?? "idle", jobId: j?.id ?? 0 }));
      }
      case "read": {
        const j = this.job;
        if (!j) return this.error(req, DeviceErrorCode.NO_JOB, "no job");
        if (j.state !== "done") return this.error(req, DeviceErrorCode.NOT_READY, j.state);
        if (r.part > 1 || r.length < 1 || r.length > READ_MAX_CHUNK)
          return this.error(req, DeviceErrorCode.BAD_ARGS, "part or length");
        const src = r.part === 0 ? j.priv : j.pub;
        if (r.offset > src.length) return this.error(req, DeviceErrorCode.RANGE, "offset");
        const data = src.subarray(r.offset, Math.min(src.length, r.offset + r.length));
        return this.answer(
          req,
          encodeReadChunk({ part: r.part === 0 ? "priv" : "pub", offset: r.offset, data }),
        );
      }
      case "reboot":
        if (r.mode > 1) return this.error(req, DeviceErrorCode.BAD_ARGS, "mode");
        return this.answer(req, new Uint8Array(0));
      default:
        return this.error(req, DeviceErrorCode.UNKNOWN_TYPE, "unknown type");
    }
  }

  private startJob(bits: number, exponent: number): void {
    this.jobsStarted++;
    const job: Job = {
      id: this.nextJobId++,
      state: "running",
      bits,
      exponent,
      started: Date.now(),
      endedMs: 0,
      rngCalls: 0,
      priv: new Uint8Array(0),
      pub: new Uint8Array(0),
      cancelled: false,
    };
    this.job = job;
    job.timer = setInterval(() => {
      job.rngCalls += 37;
      void this.send(
        EventType.PROGRESS,
        0,
        encodeProgress({ jobId: job.id, elapsedMs: Date.now() - job.started, rngCalls: job.rngCalls, bits }),
      );
    }, this.opts.progressMs);
    const minDone = new Promise((res) => setTimeout(res, this.opts.keygenMs));
    void Promise.all([genKeyPair("rsa", { modulusLength: bits, publicExponent: exponent }), minDone]).then(
      ([pair]) => {
        clearInterval(job.timer);
        if (job.cancelled || this.job !== job) return;
        job.priv = new Uint8Array(pair.privateKey.export({ type: "pkcs1", format: "der" }));
        job.pub = new Uint8Array(pair.publicKey.export({ type: "spki", format: "der" }));
        job.state = "done";
        job.endedMs = Date.now() - job.started;
        this.queue = this.queue.then(() => this.send(EventType.DONE, 0, encodeJobStatus(this.status())));
      },
    );
  }
}
