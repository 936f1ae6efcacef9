/**
 * SPI NOR flash of the virtual board. NOR semantics: erased bytes read 0xFF, erase works on whole
 * 4 KiB sectors, and programming can only clear bits (new = old AND data), so writing over data
 * without an erase corrupts it exactly as on a real chip.
 *
 * Contents live in memory; a file-backed flash writes every change through to its file at once,
 * so the file always holds exactly what the chip holds (writes land only through the protocol).
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { RsagenError } from "../errors.js";

export const SECTOR_SIZE = 0x1000;

export type FlashWriteResult = "ok" | "out-of-range" | "stuck";

export interface FlashBackend {
  readonly size: number;
  read(addr: number, len: number): Uint8Array | undefined;
  /** Programs bytes (AND with the current contents). */
  program(addr: number, data: Uint8Array): FlashWriteResult;
  /** Erases every sector touched by [addr, addr+len). */
  erase(addr: number, len: number): FlashWriteResult;
  eraseAll(): FlashWriteResult;
  close(): void;
}

export interface FlashFaults {
  /** After this many programmed bytes, further programming never completes (a hung SPI op). */
  stuckAfterBytes?: number;
}

export class MemoryFlash implements FlashBackend {
  protected readonly mem: Uint8Array;
  private programmed = 0;
  faults: FlashFaults = {};

  constructor(
    readonly size: number,
    initial?: Uint8Array,
  ) {
    if (!Number.isInteger(size) || size <= 0 || size % SECTOR_SIZE !== 0) {
      throw new RsagenError(
        "E_SIM",
        `flash size ${size} is not a positive multiple of 4 KiB`,
        "use e.g. 4MB",
      );
    }
    this.mem = new Uint8Array(size).fill(0xff);
    if (initial) this.mem.set(initial.subarray(0, size));
  }

  private inRange(addr: number, len: number): boolean {
    return (
      Number.isInteger(addr) && Number.isInteger(len) && addr >= 0 && len >= 0 && addr + len <= this.size
    );
  }

  read(addr: number, len: number): Uint8Array | undefined {
    if (!this.inRange(addr, len)) return undefined;
    return this.mem.slice(addr, addr + len);
  }

  program(addr: number, data: Uint8Array): FlashWriteResult {
    if (!this.inRange(addr, data.length)) return "out-of-range";
    const stuck = this.faults.stuckAfterBytes;
    if (stuck !== undefined && this.programmed + data.length > stuck) return "stuck";
    this.programmed += data.length;
    for (let i = 0; i < data.length; i++) this.mem[addr + i]! &= data[i]!;
    this.persist(addr, data.length);
    return "ok";
  }

  erase(addr: number, len: number): FlashWriteResult {
    if (len === 0) return "ok";
    const start = Math.floor(addr / SECTOR_SIZE) * SECTOR_SIZE;
    const end = Math.ceil((addr + len) / SECTOR_SIZE) * SECTOR_SIZE;
    if (!this.inRange(start, end - start)) return "out-of-range";
    this.mem.fill(0xff, start, end);
    this.persist(start, end - start);
    return "ok";
  }

  eraseAll(): FlashWriteResult {
    return this.erase(0, this.size);
  }

  /**
   * Sets bytes to 0xFF without sector alignment: what an erase cut short by a power loss leaves
   * (the host firmware's power-cut knob, src/sim/flash-service.ts). false when out of range.
   */
  tornErase(addr: number, len: number): boolean {
    if (!this.inRange(addr, len)) return false;
    this.mem.fill(0xff, addr, addr + len);
    this.persist(addr, len);
    return true;
  }

  /** The whole contents (a copy). */
  snapshot(): Uint8Array {
    return this.mem.slice();
  }

  protected persist(_addr: number, _len: number): void {}

  close(): void {}
}

/**
 * Flash kept in a file. A missing file is created erased; an existing one must have the board's
 * flash size (a smaller file is an error rather than silently padded, so a wrong --flash-size is
 * noticed).
 */
export class FileFlash extends MemoryFlash {
  private fd: number | undefined;

  constructor(
    readonly path: string,
    size: number,
  ) {
    super(size);
    try {
      const fresh = !existsSync(path);
      this.fd = openSync(path, fresh ? "w+" : "r+", 0o600);
      const st = fstatSync(this.fd);
      if (fresh || st.size === 0) {
        writeSync(this.fd, this.mem, 0, size, 0);
      } else if (st.size !== size) {
        closeSync(this.fd);
        this.fd = undefined;
        throw new RsagenError(
          "E_SIM",
          `flash file ${path} holds ${st.size} bytes, but the board's flash is ${size} bytes`,
          "pass the matching --flash-size or use a new flash file",
        );
      } else {
        readSync(this.fd, this.mem, 0, size, 0);
      }
    } catch (err) {
      if (err instanceof RsagenError) throw err;
      throw new RsagenError(
        "E_IO",
        `cannot open flash file ${path}: ${(err as Error).message}`,
        "check the path",
      );
    }
  }

  protected override persist(addr: number, len: number): void {
    if (this.fd !== undefined) writeSync(this.fd, this.mem, addr, len, addr);
  }

  override close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Parses sizes like 4MB, 16MB, 4096KB, 0x400000. */
export function parseFlashSize(text: string): number {
  const m = /^(0x[0-9a-f]+|\d+)\s*(k|kb|m|mb)?$/i.exec(text.trim());
  if (!m)
    throw new RsagenError("E_USAGE", `--flash-size: cannot read '${text}'`, "use e.g. 2MB, 4MB, 8MB, 16MB");
  const n = Number(m[1]);
  const unit = (m[2] ?? "").toLowerCase();
  const size = unit.startsWith("m") ? n * 1024 * 1024 : unit.startsWith("k") ? n * 1024 : n;
  const mb = size / (1024 * 1024);
  if (![1, 2, 4, 8, 16, 32, 64, 128].includes(mb)) {
    throw new RsagenError("E_USAGE", `--flash-size: ${text} is not a flash chip size`, "use 1MB .. 128MB");
  }
  return size;
}
