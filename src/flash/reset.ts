/**
 * Reset sequences on DTR/RTS, as esptool v5.3.0 esptool/reset.py defines them. Lines are
 * always set together (the Transport contract), so each step states both.
 *
 * Dev boards wire DTR to the boot strap pin (GPIO0, GPIO9 on C3/C6) and RTS to EN through a
 * two-transistor circuit: asserted RTS alone = chip in reset, asserted DTR alone = strap low
 * (esptool v5.3.0 docs/en/advanced-topics/boot-mode-selection.rst).
 */
import type { FlashPort, Signals } from "./port.js";
import { sleep } from "./port.js";

export type ResetStep = Signals | { waitMs: number };

export type ResetStrategyName = "classic" | "classic-long" | "usb-serial-jtag" | "no-reset";

export interface ResetStrategy {
  name: ResetStrategyName;
  steps: ResetStep[];
}

/** esptool ClassicReset: DTR=0 RTS=1, 100 ms, DTR=1 RTS=0, delay (50 ms, 550 ms the second try), DTR=0. */
export function classicReset(delayMs: number): ResetStrategy {
  return {
    name: delayMs > 100 ? "classic-long" : "classic",
    steps: [
      { dtr: false, rts: true },
      { waitMs: 100 },
      { dtr: true, rts: false },
      { waitMs: delayMs },
      { dtr: false, rts: false },
    ],
  };
}

/** esptool USBJTAGSerialReset, for the USB-Serial-JTAG peripheral of S3/C3/C6 (VID 0x303A PID 0x1001). */
export function usbJtagReset(): ResetStrategy {
  return {
    name: "usb-serial-jtag",
    steps: [
      { dtr: false, rts: false },
      { waitMs: 100 },
      { dtr: true, rts: false },
      { waitMs: 100 },
      // esptool sets RTS, then DTR, then RTS again (the USB peripheral latches on RTS edges).
      { dtr: true, rts: true },
      { dtr: false, rts: true },
      { waitMs: 100 },
      { dtr: false, rts: false },
    ],
  };
}

export const NO_RESET: ResetStrategy = { name: "no-reset", steps: [] };

/** esptool HardReset: RTS pulse with DTR released (200 ms each side over native USB). */
export function hardReset(usb: boolean): ResetStep[] {
  const ms = usb ? 200 : 100;
  return [
    { dtr: false, rts: true },
    { waitMs: ms },
    { dtr: false, rts: false },
    ...(usb ? [{ waitMs: ms }] : []),
  ];
}

export async function runSteps(port: FlashPort, steps: ResetStep[]): Promise<void> {
  for (const s of steps) {
    if ("waitMs" in s) await sleep(s.waitMs);
    else await port.setSignals({ dtr: s.dtr, rts: s.rts });
  }
}

export type Before = "default-reset" | "usb-reset" | "no-reset";

/** Espressif's native USB-Serial-JTAG. */
export function isUsbSerialJtag(port: FlashPort): boolean {
  return port.usb?.vid === 0x303a && port.usb.pid === 0x1001;
}

/**
 * The strategies to cycle through for --before. The one that fits the port comes first; the
 * alternatives follow, and a plain sync without reset last (a board someone already holds in
 * download mode, or an emulator whose pty has no reset lines).
 */
export function resetPlan(before: Before, port: FlashPort): ResetStrategy[] {
  switch (before) {
    case "no-reset":
      return [NO_RESET];
    case "usb-reset":
      return [usbJtagReset(), NO_RESET];
    case "default-reset":
      return isUsbSerialJtag(port)
        ? [usbJtagReset(), classicReset(50), NO_RESET]
        : [classicReset(50), classicReset(550), usbJtagReset(), NO_RESET];
  }
}
