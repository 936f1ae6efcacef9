/**
 * One slot job (KEEP, CSR or SIGN) from the host side, on the keygen job's model: start it, watch it
 * (events, heartbeat, STATUS polls: src/keygen/watch.ts), read its result in CRC-checked chunks
 * against the SHA-256 it reported, have the board release it; cancel it on timeout, interrupt or
 * any error, and wait for the board's confirmation.
 */
import { RsagenError } from "../errors.js";
import { JobState, type JobStatus } from "../keygen/board.js";
import { cancelJob, type KeygenEvent, releaseJob } from "../keygen/job.js";
import { type WatchEvent, watchJob } from "../keygen/watch.js";
import type { SlotBoard } from "./board.js";

export type SlotJobKind = "keep" | "csr" | "sign";

export interface SlotJobOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  heartbeatMs?: number;
  statusPollMs?: number;
  cancelTimeoutMs?: number;
}

export type SlotJobEvent =
  | { kind: "started"; jobId: number; job: SlotJobKind }
  | WatchEvent
  | { kind: "finished"; elapsedMs: number }
  | Extract<KeygenEvent, { kind: "cancelling" | "released" }>;

const WHAT: Record<SlotJobKind, string> = { keep: "key generation", csr: "CSR", sign: "signature" };

/**
 * A failed job's Mbed TLS error in the slot range (-0x5A11 .. -0x5A17: the key slot store's
 * statuses, docs/protocol.md) as the RsagenError it stands for; undefined for other codes.
 */
export function slotStoreFailure(mbedtlsError: number): RsagenError | undefined {
  const n = -mbedtlsError - 0x5a10;
  switch (n) {
    case 1:
      return new RsagenError(
        "E_SLOT_NOT_FOUND",
        "the slot is gone from the board",
        "rsagen slot list shows the slots",
      );
    case 2:
      return new RsagenError(
        "E_SLOT_EXISTS",
        "the slot was taken while the key was generated",
        "choose another --slot, or --force",
      );
    case 3:
      return new RsagenError(
        "E_SLOTS_FULL",
        "the key partition filled up while the key was generated; nothing was kept",
        "delete a slot first (rsagen slot delete NAME)",
      );
    case 4:
      return new RsagenError("E_USAGE", "the board refused the slot name", "use 1..31 of A-Z a-z 0-9 . _ -");
    case 5:
    case 6:
      return new RsagenError(
        "E_SLOT_STORAGE",
        "the board could not write or read back its key partition (flash error)",
        "reset the board and retry; rsagen monitor shows its log",
      );
    case 7:
      return new RsagenError(
        "E_NO_SLOT_STORAGE",
        "the firmware finds no key partition",
        "flash this rsagen's build: its partition table has the key partition (rsagen flash)",
      );
    default:
      return undefined;
  }
}

function failed(job: SlotJobKind, s: JobStatus): RsagenError {
  const slot = slotStoreFailure(s.mbedtlsError);
  if (slot) return slot;
  const code = `Mbed TLS error -0x${(-s.mbedtlsError).toString(16)}`;
  return job === "keep"
    ? new RsagenError(
        "E_KEYGEN_FAILED",
        `the board's key generation failed (${code})`,
        "run it again; rsagen monitor shows the log",
      )
    : new RsagenError(
        "E_SIGN_FAILED",
        `the board's ${WHAT[job]} job failed (${code})`,
        "rsagen monitor shows the board's log",
      );
}

export interface SlotJobResult<T> {
  jobId: number;
  status: JobStatus;
  value: T;
  released: boolean;
}

/**
 * Runs the job `start()` begins; `read(status)` fetches and checks its result once it is DONE.
 * Throws RsagenErrors; the job is freed on the board on every path that still has a board.
 */
export async function runSlotJob<T>(
  board: SlotBoard,
  job: SlotJobKind,
  start: () => Promise<number>,
  read: (status: JobStatus) => Promise<T>,
  opts: SlotJobOptions,
  onEvent: (ev: SlotJobEvent) => void = () => {},
): Promise<SlotJobResult<T>> {
  const jobId = await start();
  onEvent({ kind: "started", jobId, job });
  let live = true;
  try {
    const outcome = await watchJob(
      board,
      {
        jobId,
        deadline: performance.now() + opts.timeoutMs,
        ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
        ...(opts.statusPollMs ? { statusPollMs: opts.statusPollMs } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      onEvent,
    ).catch((err: unknown) => {
      if (err instanceof RsagenError && err.code === "E_DEVICE_RESET") live = false;
      throw err;
    });
    if ("stop" in outcome) {
      const reason = outcome.stop === "timeout" ? "timeout" : "interrupted";
      const confirmed = await cancelJob(board, jobId, reason, opts, onEvent);
      live = false;
      const tail = confirmed
        ? "the job was cancelled on the board"
        : "the board did not confirm the cancel: reset it before the next run";
      if (reason === "timeout") {
        throw new RsagenError(
          job === "keep" ? "E_KEYGEN_TIMEOUT" : "E_SIGN_FAILED",
          `no ${WHAT[job]} after ${(opts.timeoutMs / 1000).toFixed(1)} s; ${tail}`,
          "raise --timeout",
        );
      }
      throw new RsagenError(
        job === "keep" ? "E_KEYGEN_FAILED" : "E_SIGN_FAILED",
        `interrupted; ${tail}; nothing was written`,
        "run it again",
      );
    }
    if (outcome.state === JobState.FAILED) throw failed(job, outcome);
    if ((outcome.kind ?? "keygen") !== job) {
      throw new RsagenError(
        "E_DEVICE_PROTOCOL",
        `the board reports a ${outcome.kind ?? "keygen"} job, not a ${job} job`,
        "reset the board and try again",
      );
    }
    onEvent({ kind: "finished", elapsedMs: outcome.elapsedMs });
    const value = await read(outcome);
    const released = await releaseJob(board, jobId, onEvent);
    live = false;
    return { jobId, status: outcome, value, released };
  } finally {
    if (live) await cancelJob(board, jobId, "error", opts, onEvent).catch(() => false);
  }
}
