/**
 * The virtual board: one chip of a target behind an RFC 2217 server (and optionally a pty), with
 * reset lines, ROM download mode, file-backed flash, boot with image validation, and the host
 * firmware running as the application.
 *
 * Reset wiring (esptool v5.3.0 docs/en/advanced-topics/boot-mode-selection.rst): dev boards
 * drive EN and the strapping pin (GPIO0; GPIO9 on C3/C6) from RTS and DTR through two transistors,
 * so EN is low only while RTS is asserted and DTR is not, and the strap pin is low only while DTR is
 * asserted and RTS is not. The chip samples the strap when EN rises (after the EN RC delay). The
 * USB-Serial-JTAG peripheral (S3/C3/C6) instead decodes the lines itself: DTR=1,RTS=0 arms download
 * mode, DTR=0,RTS=1 holds the chip in reset, and releasing RTS boots it.
 */
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { RsagenError } from "../errors.js";
import { extractHostExecutable } from "../image/host-payload.js";
import { PtyBridge } from "../serial/pty.js";
import { Rfc2217Server } from "../serial/rfc2217-server.js";
import { TARGETS, type TargetInfo, type TargetName } from "../targets.js";
import { type RunningApp, startApp } from "./app-runner.js";
import { bootFromFlash, romBanner } from "./boot.js";
import { FileFlash, MemoryFlash } from "./flash.js";
import { FaultyLine, type LineFaults, lineFaultsSchema, Pacer } from "./line.js";
import { ResetLines } from "./reset-lines.js";
import { RomLoader } from "./rom-loader.js";

export type ChipState = "off" | "reset" | "download" | "booting" | "app" | "halted";

export interface BoardFaults extends Partial<LineFaults> {
  /** Reset the chip (EN pulse) once this many bytes have reached it. */
  resetAfterRxBytes?: number;
  /** Cut power once this many bytes have reached it. */
  powerLossAfterRxBytes?: number;
  /** Reset / cut power this many ms after the board started. */
  resetAtMs?: number;
  powerLossAtMs?: number;
  /** How long power stays off (default 200 ms). */
  powerOffMs?: number;
  /** Flash programming hangs after this many bytes (the loader stops answering). */
  flashStuckAfterBytes?: number;
}

export interface BoardOptions {
  target: TargetName;
  /** Flash file (created erased if missing); in-memory flash when absent. */
  flashFile?: string;
  flashSize?: number;
  /** Initial flash contents for an in-memory flash. */
  flashImage?: Uint8Array;
  host?: string;
  port?: number;
  pty?: boolean;
  pacing?: boolean;
  wdtMs?: number;
  resetCircuit?: "auto-reset" | "usb-serial-jtag";
  /** Seed of the per-board factory MAC (default: the target name and flash file). */
  macSeed?: string;
  faults?: BoardFaults;
  /** Pause before a failed boot retries (a real chip loops immediately; this keeps logs readable). */
  bootRetryMs?: number;
  /** Extra environment of the host firmware process (e.g. RSAGEN_FW_SEED: reproducible keys). */
  appEnv?: Record<string, string>;
}

/**
 * esp_reset_reason_t values (IDF esp_system.h) the app is told after each kind of reset, as
 * esp_reset_reason() computes them on the chip: a CPU software reset reports the hint the panic
 * handler or task watchdog stored (ESP_RST_PANIC, ESP_RST_TASK_WDT), else ESP_RST_SW; a power-on
 * or EN reset reports ESP_RST_POWERON (IDF esp_system/port/soc/<chip>/reset_reason.c).
 */
export const ESP_RST = { POWERON: 1, SW: 3, PANIC: 4, TASK_WDT: 6 } as const;

export interface BoardEvents {
  state: [state: ChipState, detail?: string];
  /** Everything the chip sent (after faults), for tests and the CLI's --verbose. */
  tx: [bytes: Uint8Array];
  /** A second RFC 2217 client was refused ("Port already in use") while `holder` is connected. */
  refused: [client: { address: string; port: number }, holder: { address: string; port: number }];
}

/** Factory MAC derived from a seed: locally administered, unicast (no vendor OUI is claimed). */
export function macFromSeed(seed: string): Uint8Array {
  const h = createHash("sha256").update(`rsagen-sim-mac:${seed}`).digest();
  const mac = Uint8Array.from(h.subarray(0, 6));
  mac[0] = (mac[0]! & 0xfc) | 0x02;
  return mac;
}

export class Board extends EventEmitter<BoardEvents> {
  readonly target: TargetInfo;
  readonly flash: MemoryFlash;
  readonly mac: Uint8Array;
  private server: Rfc2217Server | undefined;
  private ptyBridge: PtyBridge | undefined;
  private state: ChipState = "off";
  private gen = 0;
  private loader: RomLoader | undefined;
  private app: RunningApp | undefined;
  private readonly line: FaultyLine;
  private readonly rxPacer: Pacer | undefined;
  private readonly resetLines: ResetLines;
  private rxCount = 0;
  private timers = new Set<NodeJS.Timeout>();
  private closed = false;

  private constructor(private readonly opts: BoardOptions) {
    super();
    this.target = TARGETS[opts.target];
    const size = opts.flashSize ?? this.target.defaultFlashSize;
    this.flash = opts.flashFile
      ? new FileFlash(opts.flashFile, size)
      : new MemoryFlash(size, opts.flashImage);
    if (opts.faults?.flashStuckAfterBytes !== undefined) {
      this.flash.faults.stuckAfterBytes = opts.faults.flashStuckAfterBytes;
    }
    this.mac = macFromSeed(opts.macSeed ?? `${opts.target}:${opts.flashFile ?? "memory"}`);
    this.line = new FaultyLine(lineFaultsSchema.parse(pickLineFaults(opts.faults)));
    if (opts.pacing) this.rxPacer = new Pacer(115200, (b) => this.toChip(b));
    if (opts.resetCircuit === "usb-serial-jtag" && !this.target.nativeUsb?.kind.includes("jtag")) {
      throw new RsagenError(
        "E_USAGE",
        `${this.target.displayName} has no USB-Serial-JTAG peripheral`,
        "use the auto-reset circuit",
      );
    }
    this.resetLines = new ResetLines(opts.resetCircuit ?? "auto-reset");
  }

  static async start(opts: BoardOptions): Promise<Board> {
    const board = new Board(opts);
    try {
      board.server = await Rfc2217Server.listen({
        host: opts.host ?? "127.0.0.1",
        port: opts.port ?? 0,
        pacing: opts.pacing ?? false,
        initial: { baud: 115200, signals: { dtr: false, rts: false } },
        signature: `rsagen virtual ${board.target.displayName}`,
      });
      if (opts.pty) board.ptyBridge = await PtyBridge.open();
    } catch (err) {
      await board.close();
      throw err;
    }
    board.wire();
    board.powerOn();
    return board;
  }

  /** rfc2217://host:port */
  get url(): string {
    return this.server!.url;
  }
  get port(): number {
    return this.server!.port;
  }
  get ptyPath(): string | undefined {
    return this.ptyBridge?.path;
  }
  get chipState(): ChipState {
    return this.state;
  }
  get appPid(): number | undefined {
    return this.app?.pid;
  }

  private wire(): void {
    const s = this.server!;
    s.on("data", (b) => this.fromHost(b));
    s.on("baud", (baud) => this.rxPacer?.setBaud(baud));
    s.on("refused", (client, holder) => this.emit("refused", client, holder));
    s.on("signals", (c) => this.resetLines.setLines(c.dtr, c.rts));
    this.resetLines.on("hold", (cause) => this.holdReset(cause === "pulse" ? "reset fault" : undefined));
    this.resetLines.on("release", (r) => {
      if (this.state === "reset")
        this.startChip(
          "poweron",
          r.download,
          undefined,
          r.recognised ? "download reset recognised" : undefined,
        );
    });
    this.ptyBridge?.on("data", (b) => this.fromHost(b));
    const f = this.opts.faults;
    if (f?.resetAtMs !== undefined) this.later(f.resetAtMs, () => this.pulseReset());
    if (f?.powerLossAtMs !== undefined) this.later(f.powerLossAtMs, () => this.powerLoss());
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(t);
  }

  private setState(s: ChipState, detail?: string): void {
    this.state = s;
    this.emit("state", s, detail);
  }

  // ------------------------------------------------------------ wire I/O

  private fromHost(bytes: Uint8Array): void {
    const b = this.line.apply(bytes, "to-chip");
    if (b.length === 0) return;
    if (this.rxPacer) this.rxPacer.push(b);
    else this.toChip(b);
  }

  private toChip(bytes: Uint8Array): void {
    const f = this.opts.faults;
    const before = this.rxCount;
    this.rxCount += bytes.length;
    const trip = (limit: number | undefined) =>
      limit !== undefined && before < limit && this.rxCount >= limit;
    if (trip(f?.powerLossAfterRxBytes)) {
      this.deliver(bytes.subarray(0, f!.powerLossAfterRxBytes! - before));
      this.powerLoss();
      return;
    }
    if (trip(f?.resetAfterRxBytes)) {
      this.deliver(bytes.subarray(0, f!.resetAfterRxBytes! - before));
      this.pulseReset();
      return;
    }
    this.deliver(bytes);
  }

  private deliver(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.state === "download" && this.loader) {
      for (const a of this.loader.receive(bytes)) {
        if (a.kind === "send") this.tx(a.bytes);
        else if (a.kind === "reboot") this.restart(a.reset);
        else if (a.kind === "hang") this.setState("halted", a.reason);
      }
    } else if (this.state === "app" && this.app) {
      this.app.write(bytes);
    }
    // In reset, booting or halted the UART is not read: bytes are lost, as on the real chip.
  }

  private tx(bytes: Uint8Array): void {
    const b = this.line.apply(bytes, "from-chip");
    if (b.length === 0) return;
    this.emit("tx", b);
    void this.server?.write(b);
    void this.ptyBridge?.write(b).catch(() => undefined);
  }

  // ------------------------------------------------------------ reset lines

  private holdReset(detail?: string): void {
    if (this.state === "reset" || this.state === "off") return;
    this.stopChip();
    this.setState("reset", detail);
  }

  /** Strap level when the chip restarts by itself (no reset lines involved). */
  private strapDownload(): boolean {
    return this.resetLines.strapDownload();
  }

  private stopChip(): void {
    this.gen++;
    this.rxPacer?.clear();
    this.loader = undefined;
    const app = this.app;
    this.app = undefined;
    app?.kill();
  }

  private powerOn(): void {
    // Lines that hold EN low keep the chip in reset when power returns.
    if (this.resetLines.inReset) this.setState("reset");
    else this.startChip("poweron", this.strapDownload());
  }

  private pulseReset(): void {
    this.resetLines.pulse();
  }

  private powerLoss(): void {
    this.stopChip();
    this.setState("off", "power loss");
    this.later(this.opts.faults?.powerOffMs ?? 200, () => this.powerOn());
  }

  private restart(reason: "software" | "system", download = this.strapDownload(), appReason?: number): void {
    this.stopChip();
    this.startChip(reason, download, appReason);
  }

  // ------------------------------------------------------------ chip

  private startChip(
    reason: "poweron" | "software" | "system",
    download: boolean,
    appReason: number = reason === "poweron" ? ESP_RST.POWERON : ESP_RST.SW,
    detail?: string,
  ): void {
    if (this.closed) return;
    const g = ++this.gen;
    if (download) {
      this.tx(new TextEncoder().encode(romBanner(this.target, reason, true)));
      this.loader = new RomLoader({ target: this.target, flash: this.flash, mac: this.mac });
      this.setState("download", detail);
      return;
    }
    this.setState("booting");
    const result = bootFromFlash(this.target, this.flash, { reason, chipRevision: this.chipRevision() });
    this.tx(new TextEncoder().encode(result.log));
    if (result.outcome.kind === "fail") {
      this.setState("halted", result.outcome.reason);
      // The bootloader resets the chip and tries again.
      this.later(this.opts.bootRetryMs ?? 1000, () => {
        if (g === this.gen) this.restart("system", false);
      });
      return;
    }
    let exe: Uint8Array;
    try {
      exe = extractHostExecutable(result.outcome.image, { target: this.target.name });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.tx(new TextEncoder().encode(`E (300) sim: cannot run this app on the virtual board: ${msg}\r\n`));
      this.setState("halted", "not a host image");
      return;
    }
    let app: RunningApp;
    try {
      app = startApp(
        exe,
        {
          target: this.target.name,
          wdtMs: this.opts.wdtMs,
          resetReason: appReason,
          ...(this.opts.appEnv ? { env: this.opts.appEnv } : {}),
          flash: this.flash, // the key slots live in the board's flash (flash-service.ts)
        },
        (b) => {
          if (g === this.gen) this.tx(b);
        },
      );
    } catch (err) {
      this.tx(new TextEncoder().encode(`E (300) sim: cannot start the app: ${(err as Error).message}\r\n`));
      this.setState("halted", "app failed to start");
      return;
    }
    this.app = app;
    this.setState("app");
    void app.exited.then((e) => {
      if (g !== this.gen || this.closed) return;
      this.app = undefined;
      // Contract C2: 3 reboot, 4 reboot into download mode, 5 task watchdog, 6 panic; a crash of
      // the host process (signal) is a panic too. 0 = the console was closed: the chip idles.
      // All of them end in esp_restart_noos(): a CPU software reset (rst:0xc) with the reason hint.
      if (e.code === 4) return this.restart("software", true);
      // 9: the firmware's power-cut knob (RSAGEN_FW_CRASH_AFTER_FLASH_WRITES) cut power mid-write.
      if (e.code === 9) return this.powerLoss();
      if (e.code === 3 || e.code === 5 || e.code === 6 || e.signal !== null || (e.code ?? 0) > 0) {
        const hint = e.code === 3 ? ESP_RST.SW : e.code === 5 ? ESP_RST.TASK_WDT : ESP_RST.PANIC;
        this.later(10, () => {
          if (g === this.gen) this.restart("software", false, hint);
        });
        return;
      }
      this.setState("halted", "app exited");
    });
  }

  /**
   * Environment of the host firmware from its next start on (tests: fault knobs such as
   * RSAGEN_FW_CRASH_AFTER_FLASH_WRITES, which must not follow the board through the restart).
   */
  setAppEnv(env: Record<string, string> | undefined): void {
    this.opts.appEnv = env;
  }

  private chipRevision(): number {
    return this.target.name === "esp32c3" ? 3 : 0;
  }

  /** Stops everything: app process, timers, server, pty, flash file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const app = this.app;
    this.stopChip();
    this.resetLines.dispose();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (app) await app.exited;
    await this.server?.close();
    await this.ptyBridge?.close();
    this.flash.close();
    this.state = "off";
  }
}

function pickLineFaults(f: BoardFaults | undefined): Partial<LineFaults> {
  if (!f) return {};
  const { noiseRate, bitFlipRate, dropRate, direction, seed } = f;
  return Object.fromEntries(
    Object.entries({ noiseRate, bitFlipRate, dropRate, direction, seed }).filter(([, v]) => v !== undefined),
  );
}

/** Starts a virtual board in this process (tests, `rsagen sim`). */
export function startBoard(opts: BoardOptions): Promise<Board> {
  return Board.start(opts);
}
