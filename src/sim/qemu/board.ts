/**
 * The QEMU board: the real firmware (ESP-IDF's bootloader and app, built by ESP-IDF) on emulated
 * silicon with the chip's own mask ROM, behind the same RFC 2217 front as the host board
 * (src/serial/rfc2217-server.ts, one client at a time) and the same reset-line model
 * (src/sim/reset-lines.ts). A client's reset into download mode or into the app stops QEMU and
 * starts it again with the matching strapping; the flash and eFuse files persist across restarts;
 * UART0 is the console. Resets the firmware does itself (esp_restart, watchdogs, panics) happen
 * inside QEMU, as on a chip.
 */
import { EventEmitter } from "node:events";
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RsagenError } from "../../errors.js";
import { PtyBridge } from "../../serial/pty.js";
import { Rfc2217Server } from "../../serial/rfc2217-server.js";
import { TARGETS, type TargetName } from "../../targets.js";
import type { ChipState } from "../board.js";
import { type ResetCircuit, ResetLines } from "../reset-lines.js";
import { QemuChip } from "./chip.js";
import { findQemu } from "./find.js";

export interface QemuBoardOptions {
  target: TargetName;
  /** The SPI flash: created erased (0xFF) at flashSize when missing. A temp file when absent. */
  flashFile?: string;
  /** Size of a new flash file (default: the target's default flash size). */
  flashSize?: number;
  /** The eFuse file (default: <flashFile>.efuse, created with the chip revision ESP-IDF expects). */
  efuseFile?: string;
  /** --qemu PATH; else PATH and ~/.espressif/tools. */
  qemu?: string;
  host?: string;
  port?: number;
  pty?: boolean;
  /** Deliver the chip's output at the line rate the client set. */
  pacing?: boolean;
  resetCircuit?: ResetCircuit;
  /** -icount shift (default 3). */
  icount?: number | null;
  env?: NodeJS.ProcessEnv;
}

export interface QemuBoardEvents {
  state: [state: ChipState, detail?: string];
  tx: [bytes: Uint8Array];
}

export class QemuBoard extends EventEmitter<QemuBoardEvents> {
  private server: Rfc2217Server | undefined;
  private ptyBridge: PtyBridge | undefined;
  private chip: QemuChip | undefined;
  private state: ChipState = "off";
  private readonly resetLines: ResetLines;
  /** Chip transitions run one after another (a stop must finish before the next start). */
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private starts = 0;
  private readonly runDir: string;
  readonly flashFile: string;
  readonly efuseFile: string;
  qemuPath = "";

  private constructor(private readonly opts: QemuBoardOptions) {
    super();
    this.runDir = mkdtempSync(join(tmpdir(), "rsagen-qemu-"));
    this.flashFile = opts.flashFile ?? join(this.runDir, "flash.bin");
    this.efuseFile = opts.efuseFile ?? `${this.flashFile}.efuse`;
    this.resetLines = new ResetLines(opts.resetCircuit ?? "auto-reset");
  }

  static async start(opts: QemuBoardOptions): Promise<QemuBoard> {
    const found = await findQemu({ target: opts.target, qemu: opts.qemu, env: opts.env });
    const board = new QemuBoard(opts);
    try {
      board.qemuPath = found.path;
      board.prepareFiles(found.target.flashSizes, found.target.efuseImage());
      board.chip = new QemuChip({
        qemuPath: found.path,
        target: found.target,
        flashFile: board.flashFile,
        efuseFile: board.efuseFile,
        runDir: board.runDir,
        icount: opts.icount,
      });
      board.server = await Rfc2217Server.listen({
        host: opts.host ?? "127.0.0.1",
        port: opts.port ?? 0,
        pacing: opts.pacing ?? false,
        initial: { baud: 115200, signals: { dtr: false, rts: false } },
        signature: `rsagen QEMU ${TARGETS[opts.target].displayName}`,
      });
      if (opts.pty) board.ptyBridge = await PtyBridge.open();
      board.wire();
      await board.powerOn();
    } catch (err) {
      await board.close();
      throw err;
    }
    return board;
  }

  private prepareFiles(sizes: number[], efuse: Uint8Array): void {
    const size = this.opts.flashSize ?? TARGETS[this.opts.target].defaultFlashSize;
    if (existsSync(this.flashFile)) {
      const have = statSync(this.flashFile).size;
      if (!sizes.includes(have)) {
        throw new RsagenError(
          "E_USAGE",
          `${this.flashFile} is ${have} bytes; QEMU's flash must be ${sizes.map((s) => `${s / 1048576} MiB`).join(", ")}`,
          "use another flash file (a new one is created erased)",
        );
      }
    } else {
      if (!sizes.includes(size)) {
        throw new RsagenError("E_USAGE", `QEMU cannot emulate a ${size}-byte flash`, "use 2, 4, 8 or 16 MiB");
      }
      writeFileSync(this.flashFile, new Uint8Array(size).fill(0xff));
    }
    if (!existsSync(this.efuseFile)) writeFileSync(this.efuseFile, efuse);
  }

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
  get qemuPid(): number | undefined {
    return this.chip?.pid;
  }
  /** How many times QEMU was started (power-on and every reset through the lines). */
  get qemuStarts(): number {
    return this.starts;
  }

  /** Reads the flash file (QEMU writes through to it). */
  readFlash(offset: number, length: number): Uint8Array {
    const fd = openSync(this.flashFile, "r");
    try {
      const buf = new Uint8Array(length);
      readSync(fd, buf, 0, length, offset);
      return buf;
    } finally {
      closeSync(fd);
    }
  }

  private wire(): void {
    const s = this.server!;
    s.on("data", (b) => this.chip?.write(b));
    s.on("signals", (c) => this.resetLines.setLines(c.dtr, c.rts));
    this.ptyBridge?.on("data", (b) => this.chip?.write(b));
    this.resetLines.on("hold", () => this.enqueue(() => this.stopChip("reset")));
    this.resetLines.on("release", (r) => this.enqueue(() => this.startChip(r.download)));
    this.chip!.on("data", (b) => this.tx(b));
    this.chip!.on("exit", (code, stderr) => {
      if (this.closed) return;
      const last =
        stderr
          .split("\n")
          .filter((l) => l.trim())
          .pop() ?? "";
      this.setState("halted", `QEMU exited (${code})${last ? `: ${last}` : ""}`);
    });
  }

  private enqueue(step: () => Promise<void>): void {
    this.queue = this.queue.then(step).catch((err: Error) => {
      if (!this.closed) this.setState("halted", err.message);
    });
  }

  private setState(s: ChipState, detail?: string): void {
    this.state = s;
    this.emit("state", s, detail);
  }

  private tx(bytes: Uint8Array): void {
    this.emit("tx", bytes);
    void this.server?.write(bytes);
    void this.ptyBridge?.write(bytes).catch(() => undefined);
  }

  private async powerOn(): Promise<void> {
    await this.startChip(this.resetLines.strapDownload());
  }

  private async stopChip(to: ChipState): Promise<void> {
    await this.chip?.stop();
    if (!this.closed) this.setState(to);
  }

  private async startChip(download: boolean): Promise<void> {
    if (this.closed) return;
    await this.chip!.stop();
    this.starts++;
    await this.chip!.start(download);
    this.setState(download ? "download" : "app");
  }

  /** An EN pulse as a reset button would give (tests: a reset in the middle of a job). */
  pulseReset(): void {
    this.resetLines.pulse();
  }

  /** Waits until queued resets have been carried out (tests). */
  settle(): Promise<void> {
    return this.queue;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.resetLines.dispose();
    await this.queue.catch(() => undefined);
    await this.chip?.stop();
    await this.server?.close();
    await this.ptyBridge?.close();
    rmSync(this.runDir, { recursive: true, force: true }); // sockets, and the flash if it was ours
    this.state = "off";
  }
}

export function startQemuBoard(opts: QemuBoardOptions): Promise<QemuBoard> {
  return QemuBoard.start(opts);
}
