/**
 * esptool-js glue: its Transport built over a WebSerialAdapter, with esptool-js's console output
 * routed to a logger. esptool-js 0.7.0 prints through `Transport.trace()` with console.log even
 * with tracing off ("readLoop exited", "Serial port done"), and through console.log from ESPLoader
 * when no `terminal` is given; neither may reach the CLI's stdout (it may be --json).
 */
import { Transport as EsptoolTransport } from "esptool-js";
import type { Transport } from "./transport.js";
import { WebSerialAdapter, type WebSerialAdapterOptions } from "./webserial-adapter.js";

export type LogSink = (line: string) => void;

/** esptool-js Transport whose trace lines go to a sink instead of console.log. */
export class RoutedEsptoolTransport extends EsptoolTransport {
  constructor(
    readonly adapter: WebSerialAdapter,
    private readonly sink: LogSink,
    tracing = false,
  ) {
    super(adapter.asSerialPort(), tracing);
  }

  // Replaces the console.log (and the ever-growing trace string) of the original.
  override trace(message: string): void {
    this.sink(`esptool-js: ${message}`);
  }
}

export interface EsptoolTransportOptions extends WebSerialAdapterOptions {
  log?: LogSink;
  /** esptool-js packet tracing (hex dumps), to the log sink. */
  tracing?: boolean;
}

export function createEsptoolTransport(
  transport: Transport,
  options: EsptoolTransportOptions = {},
): RoutedEsptoolTransport {
  const adapter = new WebSerialAdapter(transport, options);
  return new RoutedEsptoolTransport(adapter, options.log ?? (() => undefined), options.tracing ?? false);
}

const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug", "trace"] as const;
let captureDepth = 0;
let saved: Partial<Record<(typeof CONSOLE_METHODS)[number], (...args: unknown[]) => void>> = {};
let activeSink: LogSink | undefined;

/**
 * Runs fn with console output going to `sink` (one call per console call, arguments joined by
 * spaces). For third-party code that writes to the console directly; nested calls use the
 * innermost sink, and the console is restored when the outermost call ends.
 */
export async function withConsoleRouted<T>(sink: LogSink, fn: () => Promise<T>): Promise<T> {
  const outer = activeSink;
  if (captureDepth === 0) {
    saved = {};
    for (const m of CONSOLE_METHODS) {
      saved[m] = console[m];
      console[m] = (...args: unknown[]) => activeSink?.(args.map(formatArg).join(" "));
    }
  }
  captureDepth++;
  activeSink = sink;
  try {
    return await fn();
  } finally {
    captureDepth--;
    activeSink = outer;
    if (captureDepth === 0) {
      for (const m of CONSOLE_METHODS) if (saved[m]) console[m] = saved[m];
    }
  }
}

function formatArg(a: unknown): string {
  if (typeof a === "string") return a;
  if (a instanceof Error) return a.message;
  try {
    return JSON.stringify(a);
  } catch {
    return String(a);
  }
}
