/**
 * One run of Espressif's QEMU as the chip: started with the strapping of one boot mode, the flash
 * and eFuse files as its drives, and UART0 on a Unix socket that this process connects to. QEMU
 * waits for that connection before it starts the CPU (server=on,wait=on), so not one byte of the
 * ROM banner is lost. Stopping it is SIGTERM (QEMU flushes its drives and exits), SIGKILL after a
 * grace period. A reset through the reset lines is a stop and a new start: the strapping is a
 * property QEMU reads when the machine is created.
 *
 * `-icount 3` runs the core at about chip speed (one instruction per 2^3 ns) and keeps ESP-IDF's
 * interrupt watchdog from firing on host scheduling noise (DESIGN 4b; ESP-IDF's own QEMU runs use
 * it too). Figures from it are emulation figures, never chip figures.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { RsagenError } from "../../errors.js";
import type { QemuTarget } from "./targets.js";

export interface QemuChipOptions {
  qemuPath: string;
  target: QemuTarget;
  flashFile: string;
  efuseFile: string;
  /** Folder for the UART socket (one per board). */
  runDir: string;
  /** -icount shift (default 3); null runs without instruction counting. */
  icount?: number | null;
  /** Extra QEMU arguments (e.g. -d for debugging). */
  extraArgs?: string[];
}

export interface QemuChipEvents {
  data: [bytes: Uint8Array];
  /** QEMU exited by itself (not through stop()): its last stderr lines. */
  exit: [code: number | null, stderr: string];
}

const STOP_GRACE_MS = 3000;
const START_TIMEOUT_MS = 20_000;

export function qemuArgs(o: QemuChipOptions, download: boolean, socketPath: string): string[] {
  const t = o.target;
  const strap = download ? t.strapDownload : t.strapFlashBoot;
  // Instruction counting is for the firmware (its watchdogs and timers at chip speed). The ROM's
  // download mode needs none, and the ESP32's ROM takes about 5 s of wall time to print its banner
  // under -icount 3 (under 1 s without), longer than a flasher waits after a reset.
  const icount = download ? null : o.icount === undefined ? 3 : o.icount;
  return [
    ...t.machineArgs,
    ...(icount === null ? [] : ["-icount", String(icount)]),
    "-display",
    "none",
    "-monitor",
    "none",
    "-nic",
    "none",
    "-drive",
    `file=${o.flashFile},if=mtd,format=raw`,
    "-drive",
    `file=${o.efuseFile},if=none,format=raw,id=efuse`,
    "-global",
    `driver=${t.efuseDriver},property=drive,value=efuse`,
    "-global",
    `driver=${t.gpioDriver},property=strap_mode,value=0x${strap.toString(16).padStart(2, "0")}`,
    "-chardev",
    `socket,id=uart0,path=${socketPath},server=on,wait=on`,
    "-serial",
    "chardev:uart0",
    ...(o.extraArgs ?? []),
  ];
}

export class QemuChip extends EventEmitter<QemuChipEvents> {
  private proc: ChildProcess | undefined;
  private socket: net.Socket | undefined;
  private stderr = "";
  private stopping = false;
  private runs = 0;

  constructor(private readonly o: QemuChipOptions) {
    super();
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts QEMU in the given boot mode and connects UART0; resolves once the CPU runs. */
  async start(download: boolean): Promise<void> {
    if (this.proc) throw new Error("QemuChip.start: already running");
    const socketPath = join(this.o.runDir, `uart0-${++this.runs}.sock`);
    const args = qemuArgs(this.o, download, socketPath);
    const proc = spawn(this.o.qemuPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    this.proc = proc;
    this.stderr = "";
    this.stopping = false;
    proc.stderr?.setEncoding("utf8");
    proc.stderr?.on("data", (d: string) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    const exited = new Promise<number | null>((res) => proc.once("exit", (code) => res(code)));
    proc.once("exit", (code) => {
      const wasStopping = this.stopping;
      this.proc = undefined;
      this.socket?.destroy();
      this.socket = undefined;
      if (!wasStopping) this.emit("exit", code, this.stderr);
    });
    proc.once("error", () => undefined); // reported through exit / the start failure below
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!existsSync(socketPath)) {
      if (!this.proc || Date.now() > deadline) {
        const code = this.proc ? "timeout" : await exited;
        await this.stop();
        throw new RsagenError(
          "E_SIM",
          `QEMU did not start (${code === "timeout" ? "no UART socket" : `exit ${code}`}): ${lastLine(this.stderr)}`,
          `check the flash file and the QEMU binary (${this.o.qemuPath})`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    // The socket file appears when QEMU binds it, a moment before it listens: retry a refused
    // connection until the start deadline.
    let socket: net.Socket | undefined;
    while (socket === undefined) {
      try {
        socket = await new Promise<net.Socket>((res, rej) => {
          const s = net.createConnection({ path: socketPath });
          s.once("connect", () => res(s));
          s.once("error", rej);
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ECONNREFUSED" && this.proc && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
          continue;
        }
        await this.stop();
        throw new RsagenError(
          "E_SIM",
          `cannot connect to QEMU's UART: ${(err as Error).message}`,
          "check the QEMU output",
        );
      }
    }
    socket.setNoDelay(true);
    socket.on("data", (b: Buffer) => this.emit("data", new Uint8Array(b.buffer, b.byteOffset, b.length)));
    socket.on("error", () => undefined); // QEMU going away closes it; exit handles that
    this.socket = socket;
  }

  /** Bytes from the host into UART0 (dropped while QEMU is not running: a chip in reset). */
  write(bytes: Uint8Array): void {
    this.socket?.write(bytes);
  }

  /** Stops QEMU (SIGTERM, then SIGKILL after a grace period); resolves once it exited. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.stopping = true;
    this.socket?.destroy();
    this.socket = undefined;
    const exited = new Promise<void>((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) res();
      else proc.once("exit", () => res());
    });
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

function lastLine(text: string): string {
  return (
    text
      .split("\n")
      .filter((l) => l.trim())
      .pop() ?? "no output"
  );
}
