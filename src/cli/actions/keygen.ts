/** `rsagen keygen` at run time: validates the options, runs src/keygen on every port, renders progress. */
import type { Command } from "commander";
import { z } from "zod";
import { slotNameSchema } from "../../device/messages.js";
import { RsagenError, toRsagenError } from "../../errors.js";
import type { KeepOptions } from "../../slots/keep.js";
import type { Settings } from "../config.js";
import { contextFor } from "../context.js";
import type { KeygenRawOptions } from "../keygen.js";
import { bitsSchema, exponentSchema, parseOption, portSchema, timeoutSchema } from "../options.js";
import type { Output } from "../output.js";

export const formatSchema = z.enum(["pem", "der"]);
export const privateFormatSchema = z.enum(["pkcs1", "pkcs8"]);

/** Every value of -p/--port on the command line, in order. */
export function repeatedPorts(argv: readonly string[]): string[] {
  const ports: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if ((a === "--port" || a === "-p") && argv[i + 1] !== undefined) ports.push(argv[++i]!);
    else if (a.startsWith("--port=")) ports.push(a.slice(7));
    else if (/^-p./.test(a)) ports.push(a.slice(2));
  }
  return ports;
}

export async function run(raw: KeygenRawOptions, cmd: Command): Promise<void> {
  // The global -p/--port keeps only its last value; keygen takes every one given (several boards).
  const localPorts = repeatedPorts((cmd.parent as unknown as { rawArgs?: string[] } | null)?.rawArgs ?? []);
  const { settings, out } = contextFor(cmd);
  const kc = settings.config.keygen ?? {};
  const bits = parseOption(bitsSchema, raw.bits ?? kc.bits ?? 2048, "--bits");
  const exponent = parseOption(exponentSchema, raw.exponent ?? kc.exponent ?? 65537, "--exponent");
  // rsagen.config.json's keygen.timeout is already milliseconds (parsed by its schema).
  const timeoutMs =
    raw.timeout === undefined && kc.timeout !== undefined
      ? kc.timeout
      : parseOption(timeoutSchema, raw.timeout ?? "10m", "--timeout", "e.g. --timeout 90s");
  const format = parseOption(formatSchema, raw.format ?? kc.format ?? "pem", "--format", "use pem or der");
  const privateEnc = parseOption(privateFormatSchema, raw.private, "--private", "use pkcs1 or pkcs8");
  for (const p of localPorts) parseOption(portSchema, p, "--port");

  if (raw.slot !== undefined && !raw.keep) {
    throw new RsagenError("E_USAGE", "--slot names the slot of --keep", "add --keep, or drop --slot");
  }
  const slot = raw.keep
    ? parseOption(slotNameSchema, raw.slot ?? "device", "--slot", "e.g. --slot device")
    : "";

  const { keygenPorts } = await import("../../keygen/ports.js");
  const ports = await keygenPorts({
    all: Boolean(raw.all),
    named: localPorts,
    configured: settings.port,
  });
  if (raw.keep) {
    const save = { out: raw.out ?? kc.out ?? ".", prefix: raw.prefix, format };
    await keepOnPorts(out, ports, settings, {
      bits,
      exponent,
      slot,
      force: Boolean(raw.force),
      timeoutMs,
      save,
    });
    return;
  }
  const { keygenOnPorts } = await import("../../keygen/multi.js");
  const ac = new AbortController();
  // First Ctrl-C: cancel the jobs on the boards and wait for their confirmation. Second: quit.
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
  };
  process.on("SIGINT", onSigint);
  const view = new ProgressView(out, ports);
  try {
    const outcomes = await keygenOnPorts(
      ports,
      {
        bits,
        exponent,
        timeoutMs,
        signal: ac.signal,
        save: {
          out: raw.out ?? kc.out ?? ".",
          prefix: raw.prefix,
          format,
          private: privateEnc,
          publicOnly: Boolean(raw.publicOnly),
          force: Boolean(raw.force),
        },
      },
      (port, ev) => view.event(port, ev),
      settings.baud ? { baud: settings.baud } : {},
    );
    reportOutcomes(out, outcomes);
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/**
 * --keep: a key pair per board, its private key kept in a slot, its public key verified and written.
 * Several ports run in parallel, each independent; a fixed --prefix gets the port's label appended.
 */
async function keepOnPorts(
  out: Output,
  ports: string[],
  settings: Settings,
  opts: Omit<KeepOptions, "signal">,
): Promise<void> {
  const [{ runKeep }, { withInterrupt, withSlotBoard, slotEvents }, { portLabel }] = await Promise.all([
    import("../../slots/keep.js"),
    import("./slot-session.js"),
    import("../../keygen/ports.js"),
  ]);
  const outcomes = await withInterrupt((signal) =>
    Promise.all(
      ports.map(async (port) => {
        const prefix =
          opts.save.prefix !== undefined && ports.length > 1
            ? `${opts.save.prefix}-${portLabel(port)}`
            : opts.save.prefix;
        const render = slotEvents(out, `generating a ${opts.bits}-bit key to keep in slot ${opts.slot}`);
        try {
          const result = await withSlotBoard(port, settings, (b) =>
            runKeep(b, { ...opts, save: { ...opts.save, prefix }, signal }, (ev) =>
              ports.length > 1 && ev.kind !== "warning" ? undefined : render(ev),
            ),
          );
          return { port, ok: true as const, result };
        } catch (err) {
          return { port, ok: false as const, error: toRsagenError(err) };
        }
      }),
    ),
  );
  if (outcomes.length === 1) {
    const o = outcomes[0]!;
    if (!o.ok) throw o.error;
    const r = o.result;
    out.result({ port: o.port, ...r }, () =>
      [
        `${r.bits}-bit RSA key generated on ${o.port} (${r.target}) in ${formatDuration(r.deviceElapsedMs)}, kept in slot ${r.slot}`,
        `  public:  ${r.publicPath}`,
        `  fingerprint: ${r.fingerprint}`,
        "  the private key stays on the board (rsagen slot list, rsagen csr, rsagen sign)",
        ...(r.released ? [] : ["  warning: the board did not confirm it released the job; reset it"]),
      ].join("\n"),
    );
    return;
  }
  for (const o of outcomes) {
    if (o.ok)
      out.event(
        "board-result",
        { port: o.port, ok: true, ...o.result },
        () => `${o.port}: ok ${o.result.fingerprint} ${o.result.publicPath}`,
      );
    else
      out.event(
        "board-result",
        { port: o.port, ok: false, ...o.error.toJSON() },
        () => `${o.port}: FAILED ${o.error.code}: ${o.error.message}`,
      );
  }
  const failed = outcomes.filter((o) => !o.ok);
  out.result(
    { boards: outcomes.length, ok: outcomes.length - failed.length, failed: failed.length },
    () => `${outcomes.length - failed.length} of ${outcomes.length} boards kept a verified key`,
  );
  const first = failed[0];
  if (first && !first.ok) process.exitCode = first.error.exitCode;
}

/** 45 ms, 1.2 s, 3 min 05 s: board times span four orders of magnitude. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

type Outcomes = Awaited<ReturnType<typeof import("../../keygen/multi.js").keygenOnPorts>>;
type KeygenEvent = import("../../keygen/job.js").KeygenEvent;

function reportOutcomes(out: Output, outcomes: Outcomes): void {
  const failed = outcomes.filter((o) => !o.ok);
  if (outcomes.length === 1) {
    const o = outcomes[0]!;
    if (!o.ok) throw o.error;
    const r = o.result;
    out.result({ port: o.port, ...r }, () =>
      [
        `${r.bits}-bit RSA key generated on ${o.port} (${r.target}) in ${formatDuration(r.deviceElapsedMs)}, verified`,
        ...(r.files.privatePath ? [`  private: ${r.files.privatePath}`] : []),
        `  public:  ${r.files.publicPath}`,
        `  fingerprint: ${r.fingerprint}`,
        ...(r.released ? [] : ["  warning: the board did not confirm it released the key; reset it"]),
      ].join("\n"),
    );
    return;
  }
  for (const o of outcomes) {
    if (o.ok) {
      out.event(
        "board-result",
        { port: o.port, ok: true, ...o.result },
        () => `${o.port}: ok ${o.result.fingerprint} ${o.result.files.publicPath}`,
      );
    } else {
      out.event(
        "board-result",
        { port: o.port, ok: false, ...o.error.toJSON() },
        () => `${o.port}: FAILED ${o.error.code}: ${o.error.message}`,
      );
    }
  }
  out.result(
    { boards: outcomes.length, ok: outcomes.length - failed.length, failed: failed.length },
    () => `${outcomes.length - failed.length} of ${outcomes.length} boards produced a verified key`,
  );
  if (failed.length && !failed[0]!.ok) process.exitCode = failed[0]!.error.exitCode;
}

/** Per-board progress: transient status on a TTY, JSON event lines under --json. */
class ProgressView {
  private readonly state = new Map<string, string>();
  private readonly lastLine = new Map<string, number>();
  constructor(
    private readonly out: Output,
    private readonly ports: string[],
  ) {}

  event(port: string, ev: KeygenEvent): void {
    const tag = this.ports.length > 1 ? `${port}: ` : "";
    const data: Record<string, unknown> = { port, ...ev };
    delete data.kind;
    const { kind } = ev;
    switch (ev.kind) {
      case "boot-log":
        this.out.event(kind, data, () => undefined);
        this.out.debug(`${tag}| ${ev.line}`);
        return;
      case "progress":
        this.state.set(port, `${formatDuration(ev.elapsedMs)}, ${ev.rngCalls} RNG calls${this.hb(port)}`);
        // A line every 10 s as well, so a log (no TTY, no live progress) shows the board is alive.
        this.out.event(kind, data, () => {
          const now = performance.now();
          if (now - (this.lastLine.get(port) ?? 0) < 10_000) return undefined;
          this.lastLine.set(port, now);
          return `${tag}${this.state.get(port)}`;
        });
        this.draw();
        return;
      case "heartbeat":
        this.state.set(
          port,
          `${(this.state.get(port) ?? "").replace(/, heartbeat .*$/, "")}, heartbeat ${ev.rttMs.toFixed(1)} ms`,
        );
        this.out.event(kind, data);
        this.draw();
        return;
      case "readback":
        this.state.set(port, `reading ${ev.part} key ${ev.bytes}/${ev.total} bytes`);
        this.out.event(kind, data);
        this.draw();
        return;
      case "connected":
        this.out.event(
          kind,
          { port, reset: ev.reset, ...ev.info },
          () =>
            `${tag}connected: rsagen ${ev.info.firmwareVersion} on ${ev.info.target}${ev.reset ? " (after reset)" : ""}`,
        );
        return;
      case "warning":
        this.out.warn(`${tag}${ev.message}`);
        return;
      case "started":
        this.out.event(kind, data, () => `${tag}generating a ${ev.bits}-bit key (job ${ev.jobId})...`);
        return;
      case "generated":
        this.out.event(
          kind,
          data,
          () =>
            `${tag}done on the board after ${formatDuration(ev.elapsedMs)} (${ev.rngCalls} RNG calls); reading back`,
        );
        return;
      case "cancelling":
        this.out.event(kind, data, () => `${tag}cancelling the job on the board (${ev.reason})...`);
        return;
      default:
        this.out.event(kind, data, () =>
          ev.kind === "reset" ? `${tag}resetting the board (${ev.reason})` : undefined,
        );
    }
  }

  private hb(port: string): string {
    const m = /, heartbeat .*$/.exec(this.state.get(port) ?? "");
    return m ? m[0] : "";
  }

  private draw(): void {
    const parts = this.ports.map((p) =>
      this.ports.length > 1 ? `${p}: ${this.state.get(p) ?? "..."}` : (this.state.get(p) ?? ""),
    );
    this.out.progress(`generating: ${parts.join(" | ")}`);
  }
}
