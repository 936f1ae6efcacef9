/**
 * Interop: the real esptool-js 0.7.0 against the virtual board over loopback RFC 2217, for all five
 * targets: classic DTR/RTS reset into download mode, chip detection, stub upload (OHAI), compressed
 * write, MD5 verify and read-back through the stub's READ_FLASH.
 */
import { createHash, randomBytes } from "node:crypto";
import { ESPLoader } from "esptool-js";
import { afterEach, describe, expect, it } from "vitest";
import { createEsptoolTransport } from "../../src/serial/esptool-transport.js";
import { createTransport } from "../../src/serial/open-transport.js";
import { type Board, startBoard } from "../../src/sim/index.js";
import { TARGET_NAMES, TARGETS } from "../../src/targets.js";

const quietTerminal = { clean() {}, writeLine() {}, write() {} };
let board: Board | undefined;
afterEach(async () => {
  await board?.close();
  board = undefined;
});

describe("esptool-js 0.7.0 against the virtual board", () => {
  for (const target of TARGET_NAMES) {
    it(`${target}: detect, stub, compressed write, MD5 verify, read back`, async () => {
      board = await startBoard({ target, bootRetryMs: 60_000 });
      // The project's Web-Serial adapter (src/serial/webserial-adapter.ts), as rsagen flash uses it;
      // esptool-js's trace lines (console.log in 0.7.0) go to the sink instead of the console.
      const transport = createEsptoolTransport(createTransport(board.url));
      const loader = new ESPLoader({
        transport,
        baudrate: 115200,
        romBaudrate: 115200,
        terminal: quietTerminal,
      });
      try {
        const chip = await loader.main("default_reset");
        expect(chip).toContain(TARGETS[target].displayName);
        expect(loader.IS_STUB).toBe(true);
        const payload = new Uint8Array(20_000);
        payload.set(randomBytes(6000), 0); // part random, part compressible
        payload.fill(0x5a, 12_000);
        await loader.writeFlash({
          fileArray: [{ data: payload, address: 0x10000 }],
          flashSize: "keep",
          flashMode: "keep",
          flashFreq: "keep",
          eraseAll: false,
          compress: true,
          reportProgress: () => undefined,
          calculateMD5Hash: (img: Uint8Array) => createMd5(img),
        });
        expect(Buffer.from(board.flash.read(0x10000, payload.length)!)).toEqual(Buffer.from(payload));
        const md5 = await loader.flashMd5sum(0x10000, payload.length);
        expect(md5).toBe(createMd5(payload));
        const back = await loader.readFlash(0x10000, payload.length);
        expect(Buffer.from(back)).toEqual(Buffer.from(payload));
      } finally {
        await transport.disconnect().catch(() => undefined);
      }
    });
  }
});

function createMd5(b: Uint8Array): string {
  return createHash("md5").update(b).digest("hex");
}
