/**
 * The board the key-slot end-to-end tests run against, behind one small interface so that another
 * board can take the host board's place: the tests only need an RFC 2217 URL, the key partition's
 * raw bytes, a power cycle, and (where the board has one) the firmware's power-cut knob.
 *
 * `hostBoards` is the virtual board (src/sim) running the real host firmware (firmware/host built by
 * `rsagen build --host`), whose flash serves the key partition to the firmware (flash-service.ts).
 * A QEMU board (the real ESP-IDF firmware) implements the same interface: add its factory to
 * BOARDS, leaving out `cutPowerAtFlashWrite` if it cannot cut power at a given flash write.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Board, startBoard } from "../../src/sim/index.js";
import { type QemuBoard, startQemuBoard } from "../../src/sim/qemu/board.js";
import type { TargetName } from "../../src/targets.js";
import { buildFirmware, type Firmware } from "../keygen/sim-fixture.js";
import { buildReal, cli, copyFlash, realEnv, report } from "../qemu/real-fw.js";

/** The key partition of partitions/rsagen.csv. */
export const KEY_PARTITION = { offset: 0x190000, size: 0x10000 } as const;

export interface BoardUnderTest {
  /** rfc2217://host:port of the board's console (changes after a power cycle). */
  readonly url: string;
  /** The key partition's bytes as the flash holds them now. */
  keyPartition(): Uint8Array;
  /** Power off, then on: the flash keeps its contents. */
  powerCycle(): Promise<void>;
  /**
   * The firmware's power-cut knob (RSAGEN_FW_CRASH_AFTER_FLASH_WRITES): from the next start of the
   * firmware on, its n-th write or erase of the key partition is done half, then power is cut;
   * undefined disarms it. Boards without such a knob leave this out (the sweep tests skip).
   */
  cutPowerAtFlashWrite?(n: number | undefined): void;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Deterministic entropy for the firmware (host board: RSAGEN_FW_SEED). */
  seed?: string;
  /** Key partition contents to start with (a snapshot of keyPartition()). */
  keyPartition?: Uint8Array;
  /** Arm the power-cut knob from the first start. */
  cutPowerAtFlashWrite?: number;
}

export interface BoardFactory {
  name: string;
  /** Builds or finds the firmware once per test file. */
  prepare(): Promise<void>;
  start(opts?: StartOptions): Promise<BoardUnderTest>;
  cleanup(): void;
}

class HostBoard implements BoardUnderTest {
  private env: Record<string, string>;
  private constructor(
    private board: Board,
    private readonly fw: Firmware,
    env: Record<string, string>,
  ) {
    this.env = env;
  }

  static async start(fw: Firmware, opts: StartOptions): Promise<HostBoard> {
    const image = fw.image.slice();
    if (opts.keyPartition) image.set(opts.keyPartition, KEY_PARTITION.offset);
    const env: Record<string, string> = opts.seed ? { RSAGEN_FW_SEED: opts.seed } : {};
    const first = { ...env };
    if (opts.cutPowerAtFlashWrite !== undefined)
      first.RSAGEN_FW_CRASH_AFTER_FLASH_WRITES = String(opts.cutPowerAtFlashWrite);
    const board = await startBoard({ target: fw.target, flashImage: image, appEnv: first });
    return new HostBoard(board, fw, env);
  }

  get url(): string {
    return this.board.url;
  }

  keyPartition(): Uint8Array {
    return this.board.flash.read(KEY_PARTITION.offset, KEY_PARTITION.size)!;
  }

  async powerCycle(): Promise<void> {
    // The flash is the state that survives: a new board (new process, new server) on the same bytes.
    const image = this.board.flash.snapshot();
    await this.board.close();
    this.board = await startBoard({ target: this.fw.target, flashImage: image, appEnv: { ...this.env } });
  }

  cutPowerAtFlashWrite(n: number | undefined): void {
    this.board.setAppEnv(
      n === undefined ? { ...this.env } : { ...this.env, RSAGEN_FW_CRASH_AFTER_FLASH_WRITES: String(n) },
    );
  }

  close(): Promise<void> {
    return this.board.close();
  }
}

export function hostBoards(target: TargetName = "esp32c3"): BoardFactory {
  let dir: string | undefined;
  let fw: Firmware | undefined;
  return {
    name: `host board (${target})`,
    async prepare() {
      dir = mkdtempSync(join(tmpdir(), "rsagen-slots-fw-"));
      fw = await buildFirmware(dir, target, true);
    },
    start: (opts = {}) => HostBoard.start(fw!, opts),
    cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The QEMU board (src/sim/qemu) with the real ESP-IDF firmware, the key partition in its flash
 * file: a power cycle is a QEMU restart on the same file. It has no power-cut knob (QEMU cannot cut
 * power at a given flash write), and its entropy is the chip's: `seed` is ignored.
 */
class QemuBoardUnderTest implements BoardUnderTest {
  private constructor(
    private board: QemuBoard,
    private readonly target: TargetName,
    private readonly flashFile: string,
  ) {}

  static async start(target: TargetName, flashFile: string): Promise<QemuBoardUnderTest> {
    const b = new QemuBoardUnderTest(await QemuBoardUnderTest.boot(target, flashFile), target, flashFile);
    return b;
  }

  private static async boot(target: TargetName, flashFile: string): Promise<QemuBoard> {
    const board = await startQemuBoard({ target, flashFile });
    let log = "";
    board.on("tx", (x) => {
      log += Buffer.from(x).toString("latin1");
    });
    const end = Date.now() + 120_000;
    while (!/Returned from app_main/.test(log)) {
      if (Date.now() > end) throw new Error(`the QEMU ${target} did not boot the app`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return board;
  }

  get url(): string {
    return this.board.url;
  }

  keyPartition(): Uint8Array {
    return this.board.readFlash(KEY_PARTITION.offset, KEY_PARTITION.size);
  }

  async powerCycle(): Promise<void> {
    await this.board.close();
    this.board = await QemuBoardUnderTest.boot(this.target, this.flashFile);
  }

  close(): Promise<void> {
    return this.board.close();
  }
}

export function qemuBoards(target: TargetName = "esp32c3"): BoardFactory {
  let dir: string | undefined;
  let golden: string | undefined;
  let copies = 0;
  return {
    name: `QEMU board (${target}, real ESP-IDF firmware)`,
    async prepare() {
      dir = mkdtempSync(join(tmpdir(), "rsagen-slots-qemu-"));
      const buildDir = await buildReal(target, ["--task-wdt", "1"]); // shared with test/qemu
      golden = join(dir, "golden.bin");
      const board = await startQemuBoard({ target, flashFile: golden });
      try {
        const r = await cli(["flash", "--no-stub", "--port", board.url, "--build-dir", buildDir], {
          timeoutMs: 300_000,
        });
        if (r.status !== 0) throw new Error(`rsagen flash failed (${r.status}): ${r.stderr}`);
      } finally {
        await board.close();
      }
    },
    async start(opts = {}) {
      const flashFile = copyFlash(golden!, join(dir!, `flash-${++copies}.bin`));
      if (opts.keyPartition) {
        const fd = openSync(flashFile, "r+");
        try {
          writeSync(fd, opts.keyPartition, 0, opts.keyPartition.length, KEY_PARTITION.offset);
        } finally {
          closeSync(fd);
        }
      }
      return QemuBoardUnderTest.start(target, flashFile);
    },
    cleanup() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where ESP-IDF and Espressif's QEMU are installed, the slot tests also run on the real firmware. */
const qemu = await realEnv("esp32c3");
if (!qemu.ok) console.log(`key-slot tests on the QEMU board skipped: ${qemu.reason}`);
report("test/slots (QEMU esp32c3)", qemu);

/** Every board the slot tests run on. */
export const BOARDS: BoardFactory[] = [hostBoards(), ...(qemu.ok ? [qemuBoards("esp32c3")] : [])];
