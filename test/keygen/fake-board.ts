/**
 * TEST FIXTURE, not a substitute for the firmware: a TypeScript board that speaks the rsagen
 * protocol (frames from src/device/frame.ts, payloads per docs/protocol.md) behind the serial
 * engineer's real RFC 2217 server, so the CLI side runs over a real socket with real DTR/RTS.
 * Keys come from node:crypto's generateKeyPair (OpenSSL), exported as the firmware does (PKCS#1,
 * SPKI). Fault knobs reproduce what a real line and board do: noise, bit flips, resets, hangs.
 */
import { createHash, generateKeyPair, generateKeyPairSync } from "node:crypto";
import { encodeFrame, FrameDecoder, RESPONSE_FLAG } from "../../src/device/frame.js";
import { Rfc2217Server } from "../../src/serial/rfc2217-server.js";

export type BoardMode = "rsagen" | "silent" | "download" | "foreign" | "garbage" | "no-app";

export interface FakeBoardOptions {
  mode?: BoardMode;
  /** Mode after a reset (default: same). */
  modeAfterReset?: BoardMode;
  cryptoExtra?: boolean;
  protoVersion?: number;
  /** Extra time a job takes beyond the real key generation. */
  keygenDelayMs?: number;
  /** A job never finishes (until cancelled). */
  hangJob?: boolean;
  /** Starts with a job in this state already (another client's). */
  preexistingJob?: "running" | "done";
  /** Flip one bit in the payload of the first N READ responses (the CRC then fails). */
  corruptReads?: number;
  /** Flip a bit in the key bytes themselves and fix the frame CRC: only the SHA-256 can catch it. */
  corruptKeyBytes?: boolean;
  /** Serve another key's public part (with its own correct SHA): only verification can catch it. */
  mismatchedPair?: boolean;
  /** Reset itself (and lose the job) this long after KEYGEN. */
  resetAfterMs?: number;
  /** Interleave log lines and random non-frame noise into the output. */
  noise?: boolean;
  /** Drop every DONE event (the client must poll STATUS). */
  dropDone?: boolean;
  /** Pace output at the baud rate. */
  pacing?: boolean;
  mbedtlsVersionNumber?: number;
}

const ERR = { UNKNOWN_TYPE: 1, BAD_ARGS: 2, BUSY: 3, UNSUPPORTED: 5, NO_JOB: 6, NOT_READY: 7, RANGE: 8 };

interface Job {
  id: number;
  bits: number;
  exponent: number;
  state: number;
  started: number;
  ended?: number;
  rngCalls: number;
  priv?: Buffer;
  pub?: Buffer;
  timer?: NodeJS.Timeout;
}

export class FakeBoard {
  readonly requests: number[] = [];
  readonly cancels: number[] = [];
  readonly releases: number[] = [];
  resets = 0;
  private decoder = new FrameDecoder();
  private job: Job | undefined;
  private nextJob = 1;
  private mode: BoardMode;
  private readsCorrupted = 0;
  private progressTimer: NodeJS.Timeout | undefined;
  private resetTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly server: Rfc2217Server,
    private readonly o: FakeBoardOptions,
  ) {
    this.mode = o.mode ?? "rsagen";
    server.on("data", (b) => this.onBytes(b));
    server.on("signals", (s) => {
      if (s.line === "rts" && !s.rts) this.reset();
    });
    if (o.preexistingJob) {
      this.job = {
        id: this.nextJob++,
        bits: 2048,
        exponent: 65537,
        state: o.preexistingJob === "running" ? 1 : 2,
        started: performance.now(),
        rngCalls: 10,
      };
    }
  }

  static async start(o: FakeBoardOptions = {}): Promise<FakeBoard> {
    const server = await Rfc2217Server.listen({ pacing: o.pacing ?? false });
    return new FakeBoard(server, o);
  }

  get url(): string {
    return this.server.url;
  }

  get jobState(): number {
    return this.job?.state ?? 0;
  }

  async stop(): Promise<void> {
    this.freeJob();
    clearInterval(this.progressTimer);
    clearTimeout(this.resetTimer);
    await this.server.close();
  }

  private out(bytes: Uint8Array | string): void {
    void this.server.write(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
  }

  private log(line: string): void {
    this.out(`I (${Math.round(performance.now()) % 100000}) rsagen: ${line}\r\n`);
  }

  private send(type: number, id: number, payload: Uint8Array = new Uint8Array(0)): void {
    if (this.o.noise && Math.random() < 0.5) this.out(Buffer.from([0xc1, 0x13, 0x37, 0xc1, 0xf5, 0x01]));
    this.out(encodeFrame(type, id, payload, { version: this.o.protoVersion ?? 1 }));
    if (this.o.noise) this.log("noise between frames");
  }

  private error(id: number, type: number, code: number, msg: string): void {
    const p = Buffer.alloc(4 + msg.length);
    p.writeUInt16LE(code, 0);
    p[2] = type;
    p[3] = this.o.protoVersion ?? 1;
    p.write(msg, 4, "latin1");
    this.send(0xff, id, p);
  }

  private reset(): void {
    this.resets++;
    this.freeJob();
    clearTimeout(this.resetTimer);
    this.decoder = new FrameDecoder();
    this.mode = this.o.modeAfterReset ?? this.mode;
    this.out("ESP-ROM:esp32c3-api1-20210207\r\nrst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\r\n");
    setTimeout(() => this.boot(), 30).unref();
  }

  private boot(reason = 1): void {
    switch (this.mode) {
      case "silent":
        return;
      case "download":
        this.out("waiting for download\r\n");
        return;
      case "no-app":
        this.out(
          "E (40) esp_image: image at 0x10000 has invalid magic byte (nothing flashed)\r\nE (45) boot: Factory app partition is not bootable\r\nE (46) boot: No bootable app partitions in the partition table\r\n",
        );
        return;
      case "foreign":
        this.out(
          "I (30) cpu_start: Starting scheduler.\r\nI (31) main_task: Calling app_main()\r\nI (35) blink: Turning the LED ON\r\n",
        );
        return;
      case "garbage":
        this.out(
          Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 151 + 7) & 0xff).filter((b) => b !== 0xc1)),
        );
        return;
      default: {
        this.log("rsagen firmware up");
        const fw = Buffer.from("0.1.0-fake");
        const target = Buffer.from("esp32c3");
        const p = Buffer.concat([
          Buffer.from([1, 0]),
          u16(this.features()),
          u32(reason),
          Buffer.from([fw.length]),
          fw,
          Buffer.from([target.length]),
          target,
        ]);
        this.send(0x40, 0, p);
      }
    }
  }

  private features(): number {
    return ((this.o.cryptoExtra ?? true) ? 1 : 0) | 8;
  }

  private onBytes(b: Uint8Array): void {
    if (this.mode === "garbage" && b.length > 0) {
      this.out(
        Buffer.from([
          0xff, 0x00, 0xfe, 0x80, 0x11, 0x93, 0xa5, 0x00, 0x7f, 0xee, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
          0x07, 0x08, 0x0e, 0x0f, 0x10, 0x12, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1c, 0x1d, 0x1e,
          0x1f,
        ]),
      );
      return;
    }
    if (this.mode === "foreign") {
      this.out("I (900) blink: Turning the LED OFF\r\n");
      return;
    }
    if (this.mode !== "rsagen") return;
    for (const item of this.decoder.push(b)) {
      if (item.kind !== "frame") continue;
      this.requests.push(item.type);
      this.handle(item.type, item.requestId, item.payload, item.version);
    }
  }

  private status(): Buffer {
    const j = this.job;
    const p = Buffer.alloc(96);
    if (!j) return p;
    p[0] = j.state;
    p.writeUInt16LE(j.bits, 2);
    p.writeUInt32LE(j.id, 4);
    p.writeUInt32LE(j.exponent, 8);
    p.writeUInt32LE(Math.round((j.ended ?? performance.now()) - j.started), 12);
    p.writeUInt32LE(j.rngCalls, 16);
    if (j.state === 2 && j.priv && j.pub) {
      p.writeUInt32LE(j.priv.length, 24);
      p.writeUInt32LE(j.pub.length, 28);
      createHash("sha256").update(j.priv).digest().copy(p, 32);
      createHash("sha256").update(j.pub).digest().copy(p, 64);
    }
    return p;
  }

  private handle(type: number, id: number, p: Uint8Array, version: number) {
    const ver = this.o.protoVersion ?? 1;
    if (type === 0x01) {
      const strs = ["0.1.0-fake", "esp32c3", "host", "Mbed TLS 3.6.6"].map((s) =>
        Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]),
      );
      const fixed = Buffer.alloc(24);
      fixed[0] = ver;
      fixed[1] = this.job?.state ?? 0;
      fixed.writeUInt16LE(this.features(), 2);
      fixed.writeUInt16LE(1024, 4);
      fixed.writeUInt16LE(4096, 6);
      fixed.writeUInt32LE(this.o.mbedtlsVersionNumber ?? 0x03060600, 8);
      fixed.writeUInt32LE(200_000, 12);
      fixed.writeUInt32LE(100_000, 16);
      fixed.writeUInt32LE(5000, 20);
      this.send(0x81, id, Buffer.concat([fixed, ...strs]));
      return;
    }
    if (version !== ver) return this.error(id, type, 9, "version");
    const j = this.job;
    switch (type) {
      case 0x02:
        return this.send(0x82, id, p);
      case 0x03: {
        if (!(this.o.cryptoExtra ?? true)) return this.error(id, type, ERR.UNSUPPORTED, "crypto-extra off");
        if (j) return this.error(id, type, ERR.BUSY, "job exists");
        const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
        const bits = dv.getUint16(0, true);
        const exponent = dv.getUint32(4, true);
        this.startJob(bits, exponent);
        return this.send(0x83, id, u32(this.job!.id));
      }
      case 0x04:
        return this.send(0x84, id, this.status());
      case 0x05:
      case 0x07: {
        if (type === 0x07 && j?.state === 1) return this.error(id, type, ERR.BUSY, "running");
        const prev = j?.state ?? 0;
        const jid = j?.id ?? 0;
        (type === 0x05 ? this.cancels : this.releases).push(jid);
        this.freeJob();
        // CANCEL answers only after the task stopped: model that with a short delay.
        const answer = () =>
          this.send(type | RESPONSE_FLAG, id, Buffer.concat([Buffer.from([prev, 0, 0, 0]), u32(jid)]));
        if (type === 0x05 && prev === 1) setTimeout(answer, 50).unref();
        else answer();
        return;
      }
      case 0x06: {
        if (!j) return this.error(id, type, ERR.NO_JOB, "no job");
        if (j.state !== 2 || !j.priv || !j.pub) return this.error(id, type, ERR.NOT_READY, "not ready");
        const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
        const part = p[0]!;
        const len = dv.getUint16(2, true);
        const off = dv.getUint32(4, true);
        const src = part === 0 ? j.priv : j.pub;
        if (off > src.length) return this.error(id, type, ERR.RANGE, "range");
        const data = Buffer.from(src.subarray(off, Math.min(src.length, off + len)));
        if (this.o.corruptKeyBytes && part === 0 && off === 0) data[20] = data[20]! ^ 0x10;
        const payload = Buffer.concat([Buffer.from([part, 0]), u16(data.length), u32(off), data]);
        const frame = encodeFrame(0x86, id, payload);
        if (this.readsCorrupted < (this.o.corruptReads ?? 0)) {
          this.readsCorrupted++;
          frame[9 + 8 + Math.floor(data.length / 2)]! ^= 0x04; // a bit flip on the wire: CRC now wrong
        }
        this.out(frame);
        return;
      }
      default:
        return this.error(id, type, ERR.UNKNOWN_TYPE, "unknown");
    }
  }

  private startJob(bits: number, exponent: number): void {
    const job: Job = {
      id: this.nextJob++,
      bits,
      exponent,
      state: 1,
      started: performance.now(),
      rngCalls: 0,
    };
    this.job = job;
    this.progressTimer = setInterval(() => {
      if (this.job !== job || job.state !== 1) return;
      job.rngCalls += 37;
      const p = Buffer.concat([
        u32(job.id),
        u32(Math.round(performance.now() - job.started)),
        u32(job.rngCalls),
        u16(bits),
        u16(0),
      ]);
      this.send(0x41, 0, p);
    }, 100);
    this.progressTimer.unref();
    if (this.o.resetAfterMs !== undefined) {
      this.resetTimer = setTimeout(() => {
        this.out("E (5000) task_wdt: Task watchdog got triggered.\r\n");
        this.reset();
      }, this.o.resetAfterMs);
    }
    if (this.o.hangJob) return;
    generateKeyPair("rsa", { modulusLength: bits, publicExponent: exponent }, (err, pub, priv) => {
      job.timer = setTimeout(() => {
        if (this.job !== job) return;
        if (err) {
          job.state = 3;
          return;
        }
        job.priv = priv.export({ type: "pkcs1", format: "der" });
        job.pub = pub.export({ type: "spki", format: "der" });
        if (this.o.mismatchedPair) {
          // Another valid key of the same size, with its own correct SHA-256 in STATUS.
          job.pub = otherPublicKey(bits, exponent);
        }
        job.state = 2;
        job.ended = performance.now();
        if (!this.o.dropDone) this.send(0x42, 0, this.status());
      }, this.o.keygenDelayMs ?? 0);
    });
  }

  private freeJob(): void {
    if (this.job) {
      clearTimeout(this.job.timer);
      this.job.priv?.fill(0);
      this.job = undefined;
    }
    clearInterval(this.progressTimer);
  }
}

function otherPublicKey(bits: number, exponent: number): Buffer {
  return generateKeyPairSync("rsa", { modulusLength: bits, publicExponent: exponent }).publicKey.export({
    type: "spki",
    format: "der",
  });
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}
