/** Shared by the key-slot actions (slot, csr, sign, keygen --keep): the port, the board session, events. */

import type { SlotBoard } from "../../slots/board.js";
import type { SlotConnectEvent } from "../../slots/connect.js";
import type { SlotJobEvent } from "../../slots/job.js";
import type { Settings } from "../config.js";
import type { Output } from "../output.js";
import { formatDuration } from "./keygen.js";

/** The port to use: --port/ESPPORT/config, else the one USB board (E_NO_PORT for none or several). */
export async function slotPort(settings: Settings): Promise<string> {
  return settings.port ?? (await (await import("../../serial/ports.js")).resolvePort(undefined)).path;
}

/** Opens the board, runs fn, closes everything we opened. */
export async function withSlotBoard<T>(
  port: string,
  settings: Settings,
  fn: (b: SlotBoard) => Promise<T>,
): Promise<T> {
  const { openBoard } = await import("../../keygen/session.js");
  const s = await openBoard(port, settings.baud ?? 115200);
  try {
    return await fn(s.board);
  } finally {
    await s.close();
  }
}

/** Ctrl-C: first one cancels the board's job (and waits for its confirmation), the second quits. */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  try {
    return await fn(ac.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}

type AnyEvent =
  | SlotConnectEvent
  | SlotJobEvent
  | { kind: "warning"; message: string }
  | { kind: "readback"; part: string; bytes: number; total: number }
  | { kind: "verified"; fingerprint: string }
  | { kind: "written"; path?: string; publicPath?: string };

/** Renders connect and job events (JSON lines under --json, short lines or a progress line otherwise). */
export function slotEvents(out: Output, what: string): (ev: AnyEvent) => void {
  return (ev) => {
    const data: Record<string, unknown> = { ...ev };
    delete data.kind;
    switch (ev.kind) {
      case "boot-log":
        out.event(ev.kind, data, () => undefined);
        out.debug(`| ${ev.line}`);
        return;
      case "connected":
        out.event(
          ev.kind,
          { reset: ev.reset, ...ev.info },
          () =>
            `connected: rsagen ${ev.info.firmwareVersion} on ${ev.info.target}${ev.reset ? " (after reset)" : ""}`,
        );
        return;
      case "warning":
        out.warn(ev.message);
        return;
      case "started":
        out.event(ev.kind, data, () => `${what} on the board (job ${ev.jobId})...`);
        return;
      case "progress":
        out.event(ev.kind, data);
        out.progress(`${what}: ${formatDuration(ev.elapsedMs)}`);
        return;
      case "finished":
        out.event(
          ev.kind,
          data,
          () => `done on the board after ${formatDuration(ev.elapsedMs)}; reading back`,
        );
        return;
      case "readback":
        out.event(ev.kind, data);
        out.progress(`reading the ${ev.part} key ${ev.bytes}/${ev.total} bytes`);
        return;
      case "cancelling":
        out.event(ev.kind, data, () => `cancelling the job on the board (${ev.reason})...`);
        return;
      default:
        out.event(ev.kind, data, () =>
          ev.kind === "reset" ? `resetting the board (${ev.reason})` : undefined,
        );
    }
  };
}
