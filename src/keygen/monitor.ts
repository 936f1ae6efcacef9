/**
 * The console of a board with protocol frames made readable: console text passes through
 * unchanged, each valid frame becomes one compact line. No terminal I/O here: the CLI gives the
 * sink and feeds the keys.
 */
import { FrameDecoder } from "../device/frame.js";
import type { Transport } from "../serial/transport.js";
import { describeFrame } from "./frame-text.js";

export type MonitorItem =
  | { kind: "text"; bytes: Uint8Array }
  | { kind: "frame"; text: string; raw: Uint8Array };

export interface MonitorOptions {
  reset: boolean;
  idleFlushMs?: number;
}

export interface Monitor {
  /** Sends typed bytes to the board's console. */
  send(bytes: Uint8Array): Promise<void>;
  stop(): void;
}

export async function startMonitor(
  t: Transport,
  opts: MonitorOptions,
  sink: (item: MonitorItem) => void,
): Promise<Monitor> {
  const decoder = new FrameDecoder();
  let idle: NodeJS.Timeout | undefined;
  const emit = (items: ReturnType<FrameDecoder["push"]>) => {
    for (const it of items) {
      if (it.kind === "text") sink({ kind: "text", bytes: it.bytes });
      else sink({ kind: "frame", text: describeFrame(it), raw: it.payload });
    }
  };
  const onData = (chunk: Uint8Array) => {
    emit(decoder.push(chunk));
    clearTimeout(idle);
    if (decoder.pending > 0) idle = setTimeout(() => emit(decoder.flush()), opts.idleFlushMs ?? 100);
  };
  t.on("data", onData);
  if (opts.reset && t.capabilities.hasResetLines) {
    await t.setSignals({ dtr: false, rts: true });
    await new Promise((r) => setTimeout(r, 100));
    await t.setSignals({ dtr: false, rts: false });
  }
  return {
    send: (bytes) => t.write(bytes),
    stop() {
      clearTimeout(idle);
      t.off("data", onData);
      emit(decoder.flush());
    },
  };
}
