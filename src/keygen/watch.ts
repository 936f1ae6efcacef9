/**
 * Waiting for a running job: device PROGRESS events, a PING heartbeat that proves the board stays
 * responsive (and measures its round trip), and a STATUS poll when events go quiet (events can be
 * lost to line noise; docs/protocol.md section 3 asks for a poll after 2 s without one). A BOOT
 * event, or a job that vanished from STATUS, means the board reset under us.
 */
import { randomBytes } from "node:crypto";
import { RsagenError } from "../errors.js";
import { type Board, isNoAnswer, JobState, type JobStatus } from "./board.js";

export interface WatchOptions {
  jobId: number;
  /** Absolute deadline (performance.now() ms). */
  deadline: number;
  heartbeatMs?: number;
  statusPollMs?: number;
  /**
   * How long a board that stopped answering gets to come back with a BOOT event (then the job ends
   * E_DEVICE_RESET rather than E_DEVICE_PROTOCOL). A board stuck in a computation resets only when
   * its task watchdog fires, so callers pass the board's watchdog timeout plus boot time.
   */
  resetGraceMs?: number;
  signal?: AbortSignal;
}

export type WatchEvent =
  | { kind: "progress"; elapsedMs: number; rngCalls: number }
  | { kind: "heartbeat"; seq: number; rttMs: number };

/** Why waiting stopped without a finished job. */
export type WatchStop = { stop: "timeout" } | { stop: "aborted" };

const RESET_REASONS: Record<number, string> = {
  1: "power-on",
  3: "software restart",
  4: "panic",
  5: "interrupt watchdog",
  6: "task watchdog",
  7: "other watchdog",
  8: "deep sleep",
  9: "brownout",
};

export function resetReasonName(reason: number): string {
  return RESET_REASONS[reason] ?? `reason ${reason}`;
}

function resetError(detail: string): RsagenError {
  return new RsagenError(
    "E_DEVICE_RESET",
    `the board reset during key generation (${detail}); no key was written`,
    "run keygen again; if it repeats, check the power supply and the firmware's watchdog settings",
  );
}

export function watchJob(
  board: Board,
  opts: WatchOptions,
  onEvent: (ev: WatchEvent) => void,
): Promise<JobStatus | WatchStop> {
  const heartbeatMs = opts.heartbeatMs ?? 1000;
  const statusPollMs = opts.statusPollMs ?? 2000;
  return new Promise((resolve, reject) => {
    let settled = false;
    let lastEvent = performance.now();
    let seq = 0;
    let pingInFlight = false;
    let pollInFlight = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearInterval(t);
      clearTimeout(deadlineTimer);
      offEvent();
      opts.signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const finished = (status: JobStatus) => finish(() => resolve(status));
    const fail = (err: unknown) => finish(() => reject(err));

    const offEvent = board.onEvent((ev) => {
      if (ev.kind === "boot") {
        fail(resetError(`it restarted: ${resetReasonName(ev.boot.resetReason)}`));
        return;
      }
      if (ev.kind === "progress") {
        if (ev.progress.jobId !== opts.jobId) return;
        lastEvent = performance.now();
        onEvent({ kind: "progress", elapsedMs: ev.progress.elapsedMs, rngCalls: ev.progress.rngCalls });
        return;
      }
      if (ev.status.jobId === opts.jobId) finished(ev.status);
    });

    const onStatus = (s: JobStatus) => {
      if (s.jobId !== opts.jobId || s.state === JobState.IDLE || s.state === JobState.CANCELLED) {
        fail(resetError(`job ${opts.jobId} is gone from the board`));
        return;
      }
      if (s.state === JobState.DONE || s.state === JobState.FAILED) finished(s);
      else onEvent({ kind: "progress", elapsedMs: s.elapsedMs, rngCalls: s.rngCalls });
    };

    // A request that gets no answer even after the client's resends: the board hangs or resets.
    const noAnswer = (what: string, err: unknown) => {
      if (!isNoAnswer(err)) return fail(err);
      // Give a resetting board the time to boot and say so; a BOOT event wins this race.
      const grace = opts.resetGraceMs ?? 3000;
      setTimeout(
        () =>
          fail(
            new RsagenError(
              "E_DEVICE_PROTOCOL",
              `the board stopped answering during key generation (${what}: ${err.message})`,
              "reset the board and try again; check the cable",
            ),
          ),
        grace,
      ).unref();
    };

    timers.push(
      setInterval(() => {
        if (pingInFlight || settled) return;
        pingInFlight = true;
        const n = ++seq;
        const payload = randomBytes(8);
        const t0 = performance.now();
        board.ping(payload).then(
          (echo) => {
            pingInFlight = false;
            if (!Buffer.from(echo).equals(payload)) {
              fail(new RsagenError("E_DEVICE_PROTOCOL", "the board's PING echo differs from what was sent"));
              return;
            }
            if (!settled) onEvent({ kind: "heartbeat", seq: n, rttMs: performance.now() - t0 });
          },
          (err) => {
            pingInFlight = false;
            if (!settled) noAnswer("heartbeat", err);
          },
        );
      }, heartbeatMs),
    );
    timers.push(
      setInterval(
        () => {
          if (pollInFlight || settled || performance.now() - lastEvent < statusPollMs) return;
          pollInFlight = true;
          board.status().then(
            (s) => {
              pollInFlight = false;
              lastEvent = performance.now();
              if (!settled) onStatus(s);
            },
            (err) => {
              pollInFlight = false;
              if (!settled) noAnswer("status", err);
            },
          );
        },
        Math.max(100, Math.min(statusPollMs, heartbeatMs) / 2),
      ),
    );
    const deadlineTimer = setTimeout(
      () => finish(() => resolve({ stop: "timeout" })),
      Math.max(0, opts.deadline - performance.now()),
    );
    const onAbort = () => finish(() => resolve({ stop: "aborted" }));
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener("abort", onAbort, { once: true });
  });
}
