/**
 * One flash run: connect (reset strategies with retries), detect the chip and refuse a mismatch,
 * then write every region through the flasher stub (esptool-js) or the ROM loader alone, verify
 * each by MD5, and reset the board as --after says.
 */
import { RsagenError } from "../errors.js";
import { encodeCommand, Op } from "../rom/index.js";
import type { TargetInfo } from "../targets.js";
import { type Connection, connect } from "./connect.js";
import { detectChip } from "./detect.js";
import type { FlashEvent } from "./events.js";
import { LinkTimeout } from "./link.js";
import type { FlashPlan } from "./plan.js";
import type { FlashPort } from "./port.js";
import { sleep } from "./port.js";
import { type RegionResult, type RegionWriter, writeRegions } from "./regions.js";
import { type Before, hardReset, isUsbSerialJtag, runSteps } from "./reset.js";
import { RomCommandError, type RomLoader } from "./rom-loader.js";

/** esptool's stub FLASH_WRITE_SIZE. */
const STUB_BLOCK_SIZE = 0x4000;

export type After = "hard-reset" | "no-reset";

export interface FlashOptions {
  before: Before;
  after: After;
  /** Use the flasher stub (through esptool-js); false = ROM loader only. */
  stub: boolean;
  skip: boolean;
  eraseAll: boolean;
  force: boolean;
  /** Baud for the fast phase; undefined = stay at the port's rate. */
  baud?: number | undefined;
  compress?: boolean;
  connectAttempts?: number;
  onEvent?: (e: FlashEvent) => void;
  /** The stub path, injected so this module does not load esptool-js unless it is used. */
  stubPath?: StubPath;
}

/**
 * Starts the flasher stub on a chip in its ROM loader (esptool-js, stub-path.ts) and switches to
 * opts.baud; when it resolves the stub is running and the port is free for conn.loader.
 */
export type StubPath = (args: {
  port: FlashPort;
  conn: Connection;
  target: TargetInfo;
  plan: FlashPlan;
  opts: FlashOptions;
}) => Promise<void>;

export interface FlashResult {
  port: string;
  chip: string;
  loader: "rom" | "stub";
  reset: string;
  baud: number;
  regions: RegionResult[];
  after: string;
  seconds: number;
}

export async function flashBoard(port: FlashPort, plan: FlashPlan, opts: FlashOptions): Promise<FlashResult> {
  const t0 = performance.now();
  const emit = opts.onEvent ?? (() => {});
  let stubAttempted = false;
  const conn = await connect(port, opts.before, {
    onEvent: emit,
    ...(opts.connectAttempts ? { attempts: opts.connectAttempts } : {}),
  });
  try {
    const chip = await detectChip(conn.loader);
    if (chip.reads && chip.reads.length > 2) {
      emit({
        event: "warning",
        message: `the chip type took ${chip.reads.length} reads to get two agreeing answers (${chip.reads.join(", ")}): the line is noisy`,
      });
    }
    emit({
      event: "connected",
      port: port.description,
      reset: conn.strategy,
      chip: chip.target.name,
      secureDownloadMode: chip.secureDownloadMode,
    });
    if (chip.target.name !== plan.target.name) {
      if (!opts.force) {
        throw new RsagenError(
          "E_CHIP_MISMATCH",
          `the board is an ${chip.target.displayName}, but the build is for ${plan.target.name}`,
          `flash a build for ${chip.target.name} (rsagen build --target ${chip.target.name}), or pass --force if you are sure`,
        );
      }
      emit({
        event: "warning",
        message: `--force: writing a ${plan.target.name} build to an ${chip.target.displayName}`,
      });
    }
    // A stub left running by an earlier session answers SYNC once with val 0 (connect() noticed):
    // esptool-js cannot sync with it (it insists on 8 replies), so it is driven by our own loader.
    const useStub = opts.stub && !chip.secureDownloadMode && opts.stubPath !== undefined && !conn.stubRunning;
    if (opts.stub && chip.secureDownloadMode) {
      emit({
        event: "warning",
        message: "the chip is in Secure Download Mode: using the ROM loader (no stub)",
      });
    }
    const loader = conn.loader;
    if (useStub) {
      stubAttempted = true;
      // esptool-js detects the chip, uploads its flasher stub and switches the baud rate; then it
      // lets go of the port and our loader talks to the stub (stub-path.ts says why).
      await opts.stubPath!({ port, conn, target: chip.target, plan, opts });
      loader.statusBytes = 2;
    }
    loader.flashBeginHasEncryptedWord = chip.target.romFlashBeginHasEncryptedWord;
    if (loader.isStub) loader.blockSize = STUB_BLOCK_SIZE;
    if (opts.baud && opts.baud !== port.baud && !chip.secureDownloadMode)
      await romChangeBaud(port, loader, opts.baud);
    const baud = port.baud;
    emit({ event: "loader", loader: loader.isStub ? "stub" : "rom", baud });
    await loader.spiAttach();
    await loader.spiSetParams(plan.flashSize);
    if (opts.eraseAll) {
      emit({ event: "erase", what: "all" });
      // The ROM has no ERASE_FLASH; FLASH_BEGIN erases the range it is given (esptool v5.3.0
      // docs/en/advanced-topics/serial-protocol.rst, "Writing Data").
      if (loader.isStub) await loader.command(Op.ERASE_FLASH, new Uint8Array(0), { timeoutMs: 120_000 });
      else await loader.flashBegin(plan.flashSize, 0);
    }
    const writer: RegionWriter = {
      md5: (o, s) => loader.md5(o, s),
      write: (o, d, p) => loader.writeRegion(o, d, opts.compress ?? true, (x) => p(x.written)),
    };
    const regions = await writeRegions(writer, plan.regions, {
      skip: opts.skip && !opts.eraseAll,
      onEvent: emit,
    });
    // Without reset lines: the stub runs the app on RUN_USER_CODE; the ROM leaves the loader on
    // FLASH_END with "reboot" (esptool soft_reset).
    const userCode = () =>
      loader.isStub
        ? loader.link.send(encodeCommand(Op.RUN_USER_CODE, new Uint8Array(0)))
        : loader.flashEnd(false, true);
    const after = await afterFlash(port, opts.after, userCode);
    emit({ event: "reset", how: after });
    return {
      port: port.description,
      chip: chip.target.name,
      loader: loader.isStub ? "stub" : "rom",
      reset: conn.strategy,
      baud,
      regions,
      after,
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (err) {
    const e = asFlashError(err, conn);
    if ((stubAttempted || conn.loader.isStub) && e instanceof RsagenError && e.code === "E_FLASH_FAILED") {
      throw new StubFailure(e);
    }
    throw e;
  } finally {
    conn.link.detach();
  }
}

/**
 * The flasher stub could not be started, stopped answering or failed a command while the ROM loader
 * had worked: the stub
 * runs on the chip's RAM and CPU, which emulators (Espressif's QEMU) do not always run faithfully.
 * runFlash() retries once with the ROM loader.
 */
export class StubFailure extends RsagenError {
  constructor(readonly original: RsagenError) {
    super(original.code, original.message, original.hint, { cause: original });
  }
}

/** CHANGE_BAUDRATE in ROM mode (old = 0), then the host follows and checks the chip still answers. */
async function romChangeBaud(port: FlashPort, loader: RomLoader, baud: number): Promise<void> {
  await loader.changeBaud(baud, port.baud);
  await sleep(50);
  await port.setBaud(baud);
  loader.link.flush();
  for (let i = 0; i < 3; i++) {
    try {
      await loader.sync();
      return;
    } catch (err) {
      if (!(err instanceof LinkTimeout)) throw err;
    }
  }
  throw new RsagenError(
    "E_NO_SYNC",
    `the board stopped answering after switching to ${baud} baud`,
    "use a lower --baud (460800 or 115200)",
  );
}

/** --after: a real hard reset on RTS; without reset lines (a pty), ask the loader to run the app. */
async function afterFlash(port: FlashPort, after: After, userCode: () => Promise<void>): Promise<string> {
  if (after === "no-reset") return "none (staying in the loader)";
  try {
    await runSteps(port, hardReset(isUsbSerialJtag(port)));
    return "hard reset (RTS)";
  } catch {
    await userCode();
    return "soft reset (loader told to run the app: the port has no reset lines)";
  }
}

function asFlashError(err: unknown, conn: Connection): unknown {
  if (conn.link.portLost) return conn.link.portLost;
  if (err instanceof RsagenError) return err;
  if (err instanceof LinkTimeout) {
    return new RsagenError(
      "E_FLASH_FAILED",
      `the board stopped answering: ${err.message}`,
      "it may have been reset or unplugged mid-write; run rsagen flash again (regions already verified are skipped)",
    );
  }
  if (err instanceof RomCommandError) {
    return new RsagenError(
      err.op === Op.SPI_FLASH_MD5 ? "E_VERIFY_FAILED" : "E_FLASH_FAILED",
      `the board refused a command: ${err.message}`,
      "run rsagen flash again; if it persists try --no-stub or a lower --baud",
    );
  }
  return err;
}
