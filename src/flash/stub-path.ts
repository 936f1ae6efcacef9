/**
 * Flashing through esptool-js 0.7.0 and its flasher stub, with its defects worked around:
 * - MD5: compared here (the stub's 16 raw bytes, hex-encoded once), never by esptool-js;
 * - hard reset: done by session.ts on RTS itself (0.7.0's after("hard_reset") never raises RTS);
 * - connect/reset: done by connect.ts before esptool-js is involved, so esptool-js only syncs
 *   ("no_reset") on a chip already in its loader.
 */
import { ESPLoader } from "esptool-js";
import { RsagenError } from "../errors.js";
import { createEsptoolTransport } from "../serial/esptool-transport.js";
import type { StubPath } from "./session.js";

const silentTerminal = { clean() {}, writeLine() {}, write() {} };

export const stubPath: StubPath = async ({ port, target, opts }) => {
  if (!port.transport) {
    throw new RsagenError(
      "E_INTERNAL",
      `the stub path needs a serial Transport behind ${port.description}`,
      "use --no-stub",
    );
  }
  // The serial engineer's Web-Serial adapter (src/serial/webserial-adapter.ts) over the same open
  // Transport; esptool-js's trace output (console.log in 0.7.0) goes nowhere.
  const transport = createEsptoolTransport(port.transport, { keepTransportOpen: true });
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
    await transport.adapter.close().catch(() => {});
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
    // Detaches the adapter from the Transport (which stays open): esptool-js's read loop sees the
    // stream end and exits; nothing keeps buffering bytes for it.
    finish: () => transport.adapter.close(),
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
