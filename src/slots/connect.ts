/** Reaching the rsagen app for a slot command: the keygen connect (HELLO, reset if silent), then checks. */
import { RsagenError } from "../errors.js";
import { type DeviceInfo, JobState } from "../keygen/board.js";
import { type ConnectEvent, connectBoard } from "../keygen/connect.js";
import { requireSlots, type SlotBoard } from "./board.js";

export type SlotConnectEvent = ConnectEvent | { kind: "connected"; info: DeviceInfo; reset: boolean };

export async function connectSlots(
  board: SlotBoard,
  what: "slots" | "csr",
  opts: { bootWaitMs?: number },
  onEvent: (ev: SlotConnectEvent) => void = () => {},
): Promise<DeviceInfo> {
  const { info, reset } = await connectBoard(board, { bootWaitMs: opts.bootWaitMs ?? 8000 }, onEvent);
  onEvent({ kind: "connected", info, reset });
  requireSlots(info, what);
  return info;
}

/** A job command needs the board's one job to be free. */
export function requireIdle(info: DeviceInfo): void {
  if (info.jobState === JobState.IDLE) return;
  throw new RsagenError(
    "E_DEVICE_BUSY",
    `the board already holds a job (state ${info.jobState === JobState.RUNNING ? "running" : "finished, not released"})`,
    "wait for the other rsagen to finish; if none runs, reset the board (rsagen info --reset)",
  );
}
