/**
 * Flashing through esptool-js 0.7.0 and its flasher stub, with its defects worked around:
 * - MD5: compared here (the stub's 16 raw bytes, hex-encoded once), never by esptool-js;
 * - hard reset: done by session.ts on RTS itself (0.7.0's after("hard_reset") never raises RTS);
 * - connect/reset: done by connect.ts before esptool-js is involved, so esptool-js only syncs
 *   ("no_reset") on a chip already in its loader.
 */
import { ESPLoader, Transport } from "esptool-js";
import { RsagenError } from "../errors.js";
import { Op } from "../rom/index.js";
import { FlashPortSerialDevice } from "./esptool-device.js";
import type { StubPath } from "./session.js";

const silentTerminal = { clean() {}, writeLine() {}, write() {} };

export const stubPath: StubPath = async ({ port, target, opts }) => {
  const device = new FlashPortSerialDevice(port);
  const transport = new Transport(device as unknown as SerialPort, false);
  // Transport.trace() prints to the console even with tracing off (esptool-js-notes.md).
  (transport as unknown as { trace: (m: string) => void }).trace = () => {};
  const romBaud = port.baud;
  const loader = new ESPLoader({
    transport,
    baudrate: opts.baud ?? romBaud,
    romBaudrate: romBaud,
    terminal: silentTerminal,
    debugLogging: false,
  });
  try {
    await loader.detectChip("no_reset");
    const name = loader.chip.CHIP_NAME.toLowerCase().replace(/-/g, "");
    if (name !== target.name) {
      throw new RsagenError(
        "E_CHIP_MISMATCH",
        `esptool-js identified ${loader.chip.CHIP_NAME}, rsagen ${target.displayName}`,
      );
    }
    await loader.runStub();
    if (opts.baud && opts.baud !== romBaud) await loader.changeBaud();
  } catch (err) {
    throw wrap(err, "starting the flasher stub");
  }
  const compress = opts.compress ?? true;
  return {
    writer: {
      md5: async (offset, size) => {
        try {
          return (await loader.flashMd5sum(offset, size)).toLowerCase();
        } catch (err) {
          throw wrap(err, "reading the flash MD5");
        }
      },
      write: async (offset, data, onProgress) => {
        let wire = 0;
        try {
          await loader.writeFlash({
            fileArray: [{ data, address: offset }],
            flashSize: "keep",
            flashMode: "keep",
            flashFreq: "keep",
            eraseAll: false,
            compress,
            reportProgress: (_i, written, total) => {
              wire = written;
              onProgress(total > 0 ? Math.round((written / total) * data.length) : data.length);
            },
          });
        } catch (err) {
          throw wrap(err, `writing at 0x${offset.toString(16)}`);
        }
        return { wireBytes: wire };
      },
    },
    eraseAll: async () => {
      try {
        await loader.eraseFlash();
      } catch (err) {
        throw wrap(err, "erasing the flash");
      }
    },
    finish: async () => {},
    runUserCode: async () => {
      await loader.command(Op.RUN_USER_CODE, new Uint8Array(0), 0, false);
    },
  };
};

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
