/**
 * One key on one board, start to finish: connect, check the firmware, start the job, watch it,
 * read the key back, verify it with node:crypto, write the files, and have the board zeroize and
 * free the job. Nothing is written unless every check passed; the job is freed on every path that
 * still has a board to talk to (cancel on timeout or interrupt waits for the board's confirmation).
 */
import { RsagenError } from "../errors.js";
import { keyFilePaths } from "../keys/naming.js";
import { type SavedKeyFiles, type SaveOptions, saveKeyPair } from "../keys/save.js";
import { verifyKeyPair } from "../keys/verify.js";
import { assertTargetsFree } from "../keys/write.js";
import { zeroize } from "../keys/zeroize.js";
import {
  type Board,
  DeviceErrorCode,
  type DeviceInfo,
  DeviceRefusal,
  JobState,
  type JobStatus,
} from "./board.js";
import { type ConnectEvent, connectBoard, requireKeygenSupport, slowMbedtls } from "./connect.js";
import { type ReadbackStats, readPart } from "./readback.js";
import { resetReasonName, type WatchEvent, watchJob } from "./watch.js";

export interface KeygenOptions {
  bits: number;
  exponent: number;
  timeoutMs: number;
  save: Omit<SaveOptions, "cwd"> & { cwd?: string };
  heartbeatMs?: number;
  statusPollMs?: number;
  bootWaitMs?: number;
  /** How long CANCEL may take to be confirmed (the board waits for its task to exit). */
  cancelTimeoutMs?: number;
  signal?: AbortSignal;
}

export type KeygenEvent =
  | ConnectEvent
  | { kind: "connected"; info: DeviceInfo; reset: boolean }
  | { kind: "warning"; message: string }
  | { kind: "started"; jobId: number; bits: number; exponent: number }
  | WatchEvent
  | { kind: "generated"; elapsedMs: number; rngCalls: number }
  | { kind: "readback"; part: "private" | "public"; bytes: number; total: number }
  | { kind: "verified"; fingerprint: string }
  | { kind: "written"; files: SavedKeyFiles }
  | { kind: "cancelling"; reason: "timeout" | "interrupted" | "error" }
  | { kind: "released"; jobId: number; confirmed: boolean };

export interface KeygenResult {
  bits: number;
  exponent: number;
  jobId: number;
  target: string;
  firmwareVersion: string;
  files: SavedKeyFiles;
  fingerprint: string;
  fingerprintHex: string;
  /** Generation time measured by the board. */
  deviceElapsedMs: number;
  rngCalls: number;
  released: boolean;
  heartbeat: { count: number; maxRttMs: number; meanRttMs: number };
  readRetries: number;
  timings: {
    connectMs: number;
    waitMs: number;
    readbackMs: number;
    verifyMs: number;
    writeMs: number;
    doneToFilesMs: number;
  };
}

/** Parts larger than this cannot be RSA keys of <= 4096 bits (DER of 4096-bit PKCS#1 is ~2.4 KB). */
const MAX_PART_LEN = 8192;

/** A device refusal (DeviceRefusal) as the RsagenError the CLI reports; anything else unchanged. */
export function mapRefusal(err: unknown, what: string): unknown {
  if (!(err instanceof DeviceRefusal)) return err;
  switch (err.deviceCode) {
    case DeviceErrorCode.BUSY:
      return new RsagenError(
        "E_DEVICE_BUSY",
        `the board is busy with another key job (${what}: ${err.deviceMessage})`,
        "wait for the other rsagen to finish; if none runs, reset the board (rsagen info --reset)",
      );
    case DeviceErrorCode.UNSUPPORTED:
      return new RsagenError(
        "E_DEVICE_UNSUPPORTED",
        `the firmware refused ${what} as unsupported: ${err.deviceMessage}`,
        "rebuild with crypto-extra on and flash, or choose other --bits",
      );
    case DeviceErrorCode.NO_MEM:
      return new RsagenError(
        "E_KEYGEN_FAILED",
        `the board has no memory for ${what}: ${err.deviceMessage}`,
        "reset the board and try again",
      );
    case DeviceErrorCode.VERSION:
      return new RsagenError(
        "E_DEVICE_PROTOCOL",
        `the board speaks another protocol version (${what})`,
        "rebuild and flash the firmware with this rsagen",
      );
    default:
      return new RsagenError(
        "E_DEVICE_PROTOCOL",
        `the board refused ${what}: ${err.message}`,
        "reset the board and try again",
      );
  }
}

function checkDoneStatus(s: JobStatus, jobId: number, bits: number, exponent: number): void {
  const bad = (why: string) =>
    new RsagenError(
      "E_DEVICE_PROTOCOL",
      `the board's job status is inconsistent: ${why}`,
      "reset the board and try again",
    );
  if (s.jobId !== jobId) throw bad(`job ${s.jobId}, expected ${jobId}`);
  if (s.bits !== bits || s.exponent !== exponent)
    throw bad(`${s.bits} bits e=${s.exponent}, asked ${bits} e=${exponent}`);
  for (const [name, len] of [
    ["private", s.privateLength],
    ["public", s.publicLength],
  ] as const) {
    if (len <= 0 || len > MAX_PART_LEN) throw bad(`${name} key length ${len}`);
  }
}

export async function runKeygen(
  board: Board,
  opts: KeygenOptions,
  onEvent: (ev: KeygenEvent) => void = () => {},
): Promise<KeygenResult> {
  const t0 = performance.now();
  // With a fixed --prefix the file names are known now: refuse before the board works for minutes.
  if (opts.save.prefix !== undefined && !opts.save.force) {
    const p = keyFilePaths({ ...opts.save, bits: opts.bits, fingerprintHex: "" });
    await assertTargetsFree(opts.save.publicOnly ? [p.publicPath] : [p.privatePath, p.publicPath], false);
  }
  const { info, reset } = await connectBoard(board, { bootWaitMs: opts.bootWaitMs ?? 8000 }, onEvent);
  onEvent({ kind: "connected", info, reset });
  requireKeygenSupport(info, opts.bits);
  if (info.jobState !== JobState.IDLE) {
    throw new RsagenError(
      "E_DEVICE_BUSY",
      `the board already holds a key job (state ${info.jobState === JobState.RUNNING ? "running" : "finished, not released"})`,
      "wait for the other rsagen to finish; if none runs, reset the board (rsagen info --reset)",
    );
  }
  if (slowMbedtls(info)) {
    onEvent({
      kind: "warning",
      message: `${info.mbedtlsVersion}: RSA keygen is about 10x slower on MCUs since Mbed TLS 3.6.7 (Mbed-TLS/mbedtls#10830); a long --timeout may be needed`,
    });
  }
  const connectMs = performance.now() - t0;
  if (opts.signal?.aborted) {
    throw new RsagenError(
      "E_KEYGEN_FAILED",
      "interrupted before the job started; nothing was written",
      "run keygen again",
    );
  }

  let jobId: number;
  // A board that restarts while KEYGEN is outstanding (a hang the watchdog ends) says so with a
  // BOOT event; report that rather than the missing answer.
  let bootReason: number | undefined;
  const offBoot = board.onEvent((ev) => {
    if (ev.kind === "boot") bootReason = ev.boot.resetReason;
  });
  try {
    jobId = await board.keygen(opts.bits, opts.exponent);
  } catch (err) {
    if (bootReason !== undefined) {
      throw new RsagenError(
        "E_DEVICE_RESET",
        `the board reset while starting the key job (${resetReasonName(bootReason)}); no key was written`,
        "run keygen again; if it repeats, check the power supply and the firmware's watchdog settings",
      );
    }
    throw mapRefusal(err, "KEYGEN");
  } finally {
    offBoot();
  }
  onEvent({ kind: "started", jobId, bits: opts.bits, exponent: opts.exponent });

  const rtts: number[] = [];
  let jobLive = true; // false once the job is freed on the board or the board lost it (reset)
  const tWait = performance.now();
  try {
    const outcome = await watchJob(
      board,
      {
        jobId,
        deadline: tWait + opts.timeoutMs,
        // Its task watchdog resets a stuck board after wdtTimeoutMs; 3 s more for it to boot.
        resetGraceMs: info.wdtTimeoutMs + 3000,
        ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
        ...(opts.statusPollMs ? { statusPollMs: opts.statusPollMs } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (ev) => {
        if (ev.kind === "heartbeat") rtts.push(ev.rttMs);
        onEvent(ev);
      },
    ).catch((err: unknown) => {
      if (err instanceof RsagenError && err.code === "E_DEVICE_RESET") jobLive = false;
      throw err;
    });
    const waitMs = performance.now() - tWait;

    if ("stop" in outcome) {
      const reason = outcome.stop === "timeout" ? "timeout" : "interrupted";
      const confirmed = await cancelJob(board, jobId, reason, opts, onEvent);
      jobLive = false;
      const tail = confirmed
        ? "the job was cancelled on the board and its memory released"
        : "the board did not confirm the cancel: reset it before the next run";
      if (reason === "timeout") {
        throw new RsagenError(
          "E_KEYGEN_TIMEOUT",
          `no key after ${(opts.timeoutMs / 1000).toFixed(1)} s; ${tail}`,
          "raise --timeout (4096-bit keys can take minutes on a board)",
        );
      }
      throw new RsagenError("E_KEYGEN_FAILED", `interrupted; ${tail}`, "run keygen again");
    }

    const status = outcome;
    if (status.state === JobState.FAILED) {
      throw new RsagenError(
        "E_KEYGEN_FAILED",
        `the board's key generation failed (Mbed TLS error -0x${(-status.mbedtlsError).toString(16)})`,
        "run keygen again; if it repeats, check the firmware's log with rsagen monitor",
      );
    }
    checkDoneStatus(status, jobId, opts.bits, opts.exponent);
    onEvent({ kind: "generated", elapsedMs: status.elapsedMs, rngCalls: status.rngCalls });

    const tDone = performance.now();
    const stats: ReadbackStats = { chunkRetries: 0, partRetries: 0 };
    let privateDer: Buffer | undefined;
    let publicDer: Buffer | undefined;
    let files: SavedKeyFiles;
    let fingerprint: { sha256: string; sha256Hex: string };
    let verifyMs: number;
    let readbackMs: number;
    let writeMs: number;
    try {
      const onChunk = (part: "private" | "public") => (done: number, total: number) =>
        onEvent({ kind: "readback", part, bytes: done, total });
      // A try waits for up to 4 full frames queued ahead of it (the READ window), plus turnaround.
      const frameMs = board.baud ? (1037 * 10 * 1000) / board.baud : 100;
      const readTimeoutMs = Math.max(500, Math.round(5 * frameMs + 250));
      // Both parts at once, two READs in flight each (the protocol allows 4 outstanding): the
      // line never idles between the parts, which is what keeps readback near the line rate.
      const read = (part: "private" | "public") => ({ onChunk: onChunk(part), readTimeoutMs, window: 2 });
      const parts = await Promise.allSettled([
        readPart(board, "pub", status.publicLength, status.publicSha256, read("public"), stats),
        readPart(board, "priv", status.privateLength, status.privateSha256, read("private"), stats),
      ]);
      if (parts[0].status === "fulfilled") publicDer = parts[0].value;
      if (parts[1].status === "fulfilled") privateDer = parts[1].value;
      for (const p of parts) if (p.status === "rejected") throw p.reason;
      if (!publicDer || !privateDer) throw new RsagenError("E_INTERNAL", "readback lost a part");
      const tRead = performance.now();
      readbackMs = tRead - tDone;
      const pair = verifyKeyPair(privateDer, publicDer, { bits: opts.bits, exponent: opts.exponent });
      zeroize(privateDer);
      fingerprint = pair.fingerprint;
      const tVerify = performance.now();
      verifyMs = tVerify - tRead;
      onEvent({ kind: "verified", fingerprint: pair.fingerprint.sha256 });
      files = await saveKeyPair(pair, opts.save);
      writeMs = performance.now() - tVerify;
      onEvent({ kind: "written", files });
    } catch (err) {
      throw mapRefusal(err, "READ");
    } finally {
      zeroize(privateDer, publicDer);
    }
    const doneToFilesMs = performance.now() - tDone;

    const released = await releaseJob(board, jobId, onEvent);
    jobLive = false;
    if (!released)
      onEvent({ kind: "warning", message: "the board did not confirm that it released the key; reset it" });

    return {
      bits: opts.bits,
      exponent: opts.exponent,
      jobId,
      target: info.target,
      firmwareVersion: info.firmwareVersion,
      files,
      fingerprint: fingerprint.sha256,
      fingerprintHex: fingerprint.sha256Hex,
      deviceElapsedMs: status.elapsedMs,
      rngCalls: status.rngCalls,
      released,
      heartbeat: {
        count: rtts.length,
        maxRttMs: rtts.length ? Math.max(...rtts) : 0,
        meanRttMs: rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : 0,
      },
      readRetries: stats.chunkRetries + stats.partRetries,
      timings: { connectMs, waitMs, readbackMs, verifyMs, writeMs, doneToFilesMs },
    };
  } finally {
    // Any failure after the job started: free it (CANCEL also frees a finished job), best effort.
    if (jobLive) await cancelJob(board, jobId, "error", opts, onEvent).catch(() => false);
  }
}

/** CANCEL and wait for the board's confirmation that the job is stopped and freed. */
export async function cancelJob(
  board: Board,
  jobId: number,
  reason: "timeout" | "interrupted" | "error",
  opts: Pick<KeygenOptions, "cancelTimeoutMs">,
  onEvent: (ev: Extract<KeygenEvent, { kind: "cancelling" | "released" }>) => void,
): Promise<boolean> {
  onEvent({ kind: "cancelling", reason });
  try {
    const end = await board.cancel({ timeoutMs: opts.cancelTimeoutMs ?? 30_000, retries: 1 });
    // A repeat (our first answer lost) finds no job: IDLE with job 0 also means "freed".
    const ok = end.jobId === jobId || (end.previousState === JobState.IDLE && end.jobId === 0);
    const after = ok ? await board.status() : undefined;
    const confirmed = ok && after !== undefined && after.state === JobState.IDLE;
    onEvent({ kind: "released", jobId, confirmed });
    return confirmed;
  } catch {
    onEvent({ kind: "released", jobId, confirmed: false });
    return false;
  }
}

/** RELEASE (zeroize and free) a finished job; true when the board confirmed it. */
export async function releaseJob(
  board: Board,
  jobId: number,
  onEvent: (ev: Extract<KeygenEvent, { kind: "released" }>) => void,
): Promise<boolean> {
  try {
    const end = await board.release();
    const confirmed = end.jobId === jobId || (end.previousState === JobState.IDLE && end.jobId === 0);
    onEvent({ kind: "released", jobId, confirmed });
    return confirmed;
  } catch {
    onEvent({ kind: "released", jobId, confirmed: false });
    return false;
  }
}
