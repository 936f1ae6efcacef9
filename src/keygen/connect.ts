/**
 * Finding the rsagen app on the other end of a port. A board that answers HELLO at once is left
 * alone (never reset a running board needlessly). A silent one is reset into the app through the
 * auto-reset circuit, and we wait through the ROM banner and boot log for the BOOT event. If no
 * rsagen app answers, the console text seen meanwhile says why: download mode, a bootloader that
 * finds no valid app, another project's app, or bytes that are not text at all.
 */
import { RsagenError } from "../errors.js";
import { type Board, type DeviceInfo, Feature, isNoAnswer } from "./board.js";

/** The protocol version this rsagen speaks (docs/protocol.md). */
export const HOST_PROTO_VERSION = 1;

export interface ConnectOptions {
  /** How long to wait for the BOOT event after a reset. */
  bootWaitMs?: number;
  /** Timeout of the first HELLO (short: a silent board should be reset soon). */
  probeTimeoutMs?: number;
  /** Reset even when the app answers (monitor --reset, info after flashing). */
  forceReset?: boolean;
}

export type ConnectEvent =
  | { kind: "reset"; reason: string }
  | { kind: "boot-log"; line: string }
  | { kind: "booted"; resetReason: number };

export interface Connection {
  info: DeviceInfo;
  /** Whether we had to reset the board to reach the app. */
  reset: boolean;
}

const ROM_DOWNLOAD = /waiting for download|DOWNLOAD(_BOOT)?\(/i;
const NO_APP =
  /No bootable app partitions|invalid magic byte|Failed to verify app image|image at 0x[0-9a-f]+ has invalid|No bootable app|partition table.*(invalid|failed)|Factory app partition is not bootable/i;
/** The ROM's complaint when no 2nd-stage bootloader is in flash (erased: 0xffffffff). */
const NO_BOOTLOADER = /invalid header: 0x[0-9a-f]{8}/i;
const IDF_APP_LOG = /^[IWEDV] \(\d+\) [\w.-]+:/;

/** Why nothing answered, judged from what the port carried. */
export function classifySilence(
  lines: readonly string[],
  noise: { garbageBytes: number; textBytes: number; badFrames: number },
): RsagenError {
  const text = lines.join("\n");
  if (NO_BOOTLOADER.test(text)) {
    return new RsagenError(
      "E_NO_FIRMWARE",
      "the chip's ROM finds no bootloader in flash: the board looks unflashed",
      "flash the firmware first: rsagen build && rsagen flash",
    );
  }
  if (NO_APP.test(text)) {
    return new RsagenError(
      "E_NO_FIRMWARE",
      "the bootloader found no valid app in flash (is the board flashed?)",
      "flash the firmware first: rsagen build && rsagen flash",
    );
  }
  if (ROM_DOWNLOAD.test(text) && !lines.some((l) => IDF_APP_LOG.test(l))) {
    return new RsagenError(
      "E_NO_FIRMWARE",
      "the board stays in ROM download mode and no app starts",
      "release the BOOT button (GPIO0) and reset the board, or flash the firmware: rsagen flash",
    );
  }
  if (noise.garbageBytes >= 32 && noise.garbageBytes * 4 >= noise.textBytes) {
    return new RsagenError(
      "E_DEVICE_PROTOCOL",
      `the board answers with bytes that are neither rsagen frames nor console text (${noise.garbageBytes} garbage bytes)`,
      "check the baud rate (the firmware console runs at 115200) and that the port is the board's",
    );
  }
  if (lines.some((l) => IDF_APP_LOG.test(l)) || /app_main|main_task|Calling app_main/i.test(text)) {
    return new RsagenError(
      "E_FOREIGN_FIRMWARE",
      "an app runs on the board, but it does not speak the rsagen protocol",
      "flash the rsagen firmware: rsagen build && rsagen flash",
    );
  }
  return new RsagenError(
    "E_NO_FIRMWARE",
    "no rsagen firmware answers on this port",
    "check the port and the cable, that the board is powered, and that rsagen firmware is flashed",
  );
}

function checkVersion(info: DeviceInfo): DeviceInfo {
  if (info.protoVersion !== HOST_PROTO_VERSION) {
    throw new RsagenError(
      "E_DEVICE_PROTOCOL",
      `device speaks protocol v${info.protoVersion}, this rsagen speaks v${HOST_PROTO_VERSION}`,
      "rebuild and flash the firmware with this rsagen (rsagen build && rsagen flash)",
    );
  }
  return info;
}

/**
 * Resolves with the BOOT event's reset reason, or undefined when waiting is pointless: the time is
 * up, the console already says no app will start (download mode, no valid app), or another app
 * started and sent no BOOT event within a short grace time.
 */
function waitForBoot(board: Board, ms: number, graceMs = 2000): Promise<number | undefined> {
  return new Promise((resolve) => {
    let timer = setTimeout(() => done(undefined), ms);
    let shortened = false;
    const done = (v: number | undefined) => {
      clearTimeout(timer);
      offEvent();
      offText();
      resolve(v);
    };
    const offEvent = board.onEvent((ev) => {
      if (ev.kind === "boot") done(ev.boot.resetReason);
    });
    const offText = board.onText((line) => {
      if (NO_APP.test(line) || ROM_DOWNLOAD.test(line) || NO_BOOTLOADER.test(line)) {
        clearTimeout(timer);
        timer = setTimeout(() => done(undefined), 200);
      } else if (!shortened && /app_main/.test(line)) {
        // ESP-IDF prints "main_task: Calling app_main()" as the app starts; rsagen's app sends BOOT
        // right after, so a long silence from here on means another app.
        shortened = true;
        clearTimeout(timer);
        timer = setTimeout(() => done(undefined), graceMs);
      }
    });
  });
}

async function tryHello(board: Board, timeoutMs: number, retries: number): Promise<DeviceInfo | undefined> {
  try {
    return await board.hello({ timeoutMs, retries });
  } catch (err) {
    // Only "no answer" means try harder; a refusal or a lost port is final.
    if (isNoAnswer(err)) return undefined;
    throw err;
  }
}

export async function connectBoard(
  board: Board,
  opts: ConnectOptions = {},
  onEvent: (ev: ConnectEvent) => void = () => {},
): Promise<Connection> {
  const lines: string[] = [];
  const offText = board.onText((line) => {
    if (lines.length < 400) lines.push(line);
    onEvent({ kind: "boot-log", line });
  });
  try {
    if (!opts.forceReset) {
      // 1 s (and one resend): long enough for an emulated board on a busy host, short enough that a
      // board without the app is reset soon.
      const info = await tryHello(board, opts.probeTimeoutMs ?? 1000, 1);
      if (info) return { info: checkVersion(info), reset: false };
    }
    if (!board.canReset) {
      // A pty or a bridge without reset lines: one more, longer, chance before giving up.
      const info = await tryHello(board, 1000, 2);
      if (info) return { info: checkVersion(info), reset: false };
      throw classifySilence(lines, board.noiseStats());
    }
    const booted = waitForBoot(board, opts.bootWaitMs ?? 8000);
    onEvent({ kind: "reset", reason: opts.forceReset ? "requested" : "no answer to HELLO" });
    await board.resetIntoApp();
    const reason = await booted;
    if (reason !== undefined) onEvent({ kind: "booted", resetReason: reason });
    // Even without a BOOT event (lost to noise) the app may be up: ask.
    const info = await tryHello(board, 1000, reason === undefined ? 1 : 2);
    if (info) return { info: checkVersion(info), reset: true };
    throw classifySilence(lines, board.noiseStats());
  } finally {
    offText();
  }
}

/** Checks that the firmware can do what keygen needs. */
export function requireKeygenSupport(info: DeviceInfo, bits: number): void {
  if (!(info.features & Feature.CRYPTO_EXTRA)) {
    throw new RsagenError(
      "E_DEVICE_UNSUPPORTED",
      `the firmware on this board (${info.firmwareVersion}, ${info.target}) was built without crypto-extra: keygen is compiled out`,
      "rebuild with crypto-extra on (rsagen build --crypto-extra) and flash it",
    );
  }
  if (bits < info.minBits || bits > info.maxBits) {
    throw new RsagenError(
      "E_DEVICE_UNSUPPORTED",
      `this firmware generates ${info.minBits}..${info.maxBits}-bit keys, not ${bits}`,
      `choose --bits between ${info.minBits} and ${info.maxBits}`,
    );
  }
}

/** Mbed TLS 3.6.7 made RSA keygen ~10x slower on MCUs (Mbed-TLS/mbedtls#10830). */
export const SLOW_MBEDTLS_VERSION = 0x03060700;
export function slowMbedtls(info: DeviceInfo): boolean {
  return info.mbedtlsVersionNumber >= SLOW_MBEDTLS_VERSION;
}
