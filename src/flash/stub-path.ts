/**
 * Starting the flasher stub through esptool-js 0.7.0: it syncs with the chip that connect.ts already
 * put in its ROM loader ("no_reset"), checks the chip, uploads its stub and switches the baud rate.
 * Then it lets go of the port, and session.ts drives the running stub with our own loader
 * (rom-loader.ts in stub mode: 2 status bytes, 16 KiB blocks, raw MD5, one block in flight).
 *
 * Why not esptool-js's writeFlash for the data: measured on the paced virtual board (bench/flash.mjs,
 * docs/flash.md) it reaches ~0.87-0.89 of the line rate at 921600 baud, because it waits for each
 * block's reply before building the next one, and building a block runs a pako Inflate with
 * chunkSize 1 over it (one callback per byte, ~10-20 ms per 16 KiB block) just to count progress.
 * Its flashMd5sum is also not needed: the stub's raw MD5 is compared by us (0.7.0's ROM-mode MD5
 * is wrong, see docs/flash.md).
 */
import { ESPLoader, UnexpectedChipIdError } from "esptool-js";
import { RsagenError } from "../errors.js";
import { createEsptoolTransport } from "../serial/esptool-transport.js";
import type { TargetInfo } from "../targets.js";
import type { StubPath } from "./session.js";
import { withWriteDeadline } from "./write-deadline.js";

const silentTerminal = { clean() {}, writeLine() {}, write() {} };

/** esptool-js chip reads before its disagreement with detect.ts is an error. */
const ESPTOOL_DETECT_READS = 3;

export const stubPath: StubPath = async ({ port, target, opts }) => {
  const serial = port.transport;
  if (!serial) {
    throw new RsagenError(
      "E_INTERNAL",
      `the stub path needs a serial Transport behind ${port.description}`,
      "use --no-stub",
    );
  }
  const romBaud = port.baud;
  // detect.ts named the chip from two agreeing answers; esptool-js reads it once, and a reply
  // damaged on the line (ROM replies have no checksum) can name another chip or an unknown one.
  // Then it reads again, in a fresh session: its connect cannot be repeated on an open adapter.
  const named: string[] = [];
  while (named.length < ESPTOOL_DETECT_READS) {
    // The serial engineer's Web-Serial adapter (src/serial/webserial-adapter.ts) over the same open
    // Transport; esptool-js's trace output (console.log in 0.7.0) goes nowhere.
    // Its writes are bounded like ours (write-deadline.ts): esptool-js waits on them without a timeout.
    const transport = createEsptoolTransport(serial, {
      keepTransportOpen: true,
      boundWrite: (write, bytes) => withWriteDeadline(write, bytes, serial.baud, serial.path),
    });
    const loader = new ESPLoader({
      transport,
      baudrate: opts.baud ?? romBaud,
      romBaudrate: romBaud,
      terminal: silentTerminal,
      debugLogging: false,
    });
    try {
      try {
        await loader.detectChip("no_reset");
      } catch (err) {
        if (!(err instanceof UnexpectedChipIdError)) throw err;
        named.push(`an unknown chip (${err.message})`);
        continue;
      }
      if (loader.chip.CHIP_NAME.toLowerCase().replace(/-/g, "") !== target.name) {
        named.push(loader.chip.CHIP_NAME);
        continue;
      }
      await loader.runStub();
      if (opts.baud && opts.baud !== romBaud) await loader.changeBaud();
      return;
    } catch (err) {
      throw wrap(err, "starting the flasher stub");
    } finally {
      // Detaches the adapter from the Transport (which stays open): esptool-js's read loop sees the
      // stream end and exits, and nothing keeps buffering bytes for it.
      await transport.adapter.close().catch(() => {});
    }
  }
  throw disagreement(named, target);
};

function disagreement(named: string[], target: TargetInfo): RsagenError {
  if (named.every((n) => n === named[0])) {
    return new RsagenError(
      "E_CHIP_MISMATCH",
      `esptool-js identified ${named[0]} (${named.length} times), rsagen ${target.displayName}`,
      "check the port; if it persists, flash with --no-stub",
    );
  }
  return new RsagenError(
    "E_NO_SYNC",
    `esptool-js read the chip as ${named.join(", ")}, rsagen's agreeing reads as ${target.displayName}: the serial line corrupts data`,
    "try a lower --baud, another USB cable or port, or --no-stub",
  );
}

function wrap(err: unknown, what: string): unknown {
  if (err instanceof RsagenError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new RsagenError(
    "E_FLASH_FAILED",
    `esptool-js failed ${what}: ${msg}`,
    "run rsagen flash again; if it persists, lower --baud or use --no-stub",
    { cause: err },
  );
}
