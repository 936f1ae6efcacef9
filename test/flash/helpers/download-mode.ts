/**
 * Puts the virtual board into ROM download mode the way a user does by hand (hold BOOT, press and
 * release RESET, release BOOT), through its RFC 2217 reset lines; the chip stays in the loader.
 */
import { openTransport } from "../../../src/serial/open-transport.js";
import type { Board } from "../../../src/sim/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function enterDownloadMode(board: Board): Promise<void> {
  const t = await openTransport(board.url);
  try {
    await t.setSignals({ dtr: false, rts: true }); // RESET pressed (EN low)
    await sleep(20);
    await t.setSignals({ dtr: true, rts: false }); // RESET released with BOOT held (strap low)
    for (let i = 0; i < 100 && board.chipState !== "download"; i++) await sleep(10);
    await t.setSignals({ dtr: false, rts: false }); // BOOT released
  } finally {
    await t.close();
  }
  if (board.chipState !== "download") throw new Error(`board is ${board.chipState}, not in download mode`);
}
