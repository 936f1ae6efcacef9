/**
 * Chip detection as esptool does it (esptool v5.3.0 esptool/cmds.py detect_chip): GET_SECURITY_INFO's chip id on S3, C3
 * and C6; otherwise the chip-magic register (ESP32, S2). A ROM that answers GET_SECURITY_INFO but
 * refuses register reads is in Secure Download Mode.
 *
 * ROM replies carry no checksum, so on a noisy line one flipped bit turns an ESP32-C3 (chip id 5)
 * into an ESP32-C6 (13) or an unknown chip. A chip counts as detected only when two answers in a
 * row agree; a missing or disagreeing answer is asked again, DETECT_READS answers at most. Answers
 * that never agree are reported as the line fault they are, not as another chip.
 */
import { RsagenError } from "../errors.js";
import { type TargetInfo, targetByChipId, targetByRomMagic } from "../targets.js";
import { LinkTimeout } from "./link.js";
import { CHIP_MAGIC_REG, RomCommandError, type RomLoader, type SecurityInfo } from "./rom-loader.js";

export interface DetectedChip {
  target: TargetInfo;
  security?: SecurityInfo;
  /** Register reads refused: only FLASH_* and MD5 work, no stub. */
  secureDownloadMode: boolean;
  /** What each detection read said, in order (more than two: the line damaged an answer). */
  reads?: string[];
}

export const DETECT_READS = 6;

const SUPPORTED_HINT = "rsagen supports esp32, esp32s2, esp32s3, esp32c3 and esp32c6";

/** One detection answer: what it says (compared between reads) and the chip, if rsagen knows it. */
interface Answer {
  says: string;
  chip: DetectedChip | undefined;
}

async function detectOnce(loader: RomLoader): Promise<Answer> {
  const security = await loader.securityInfo();
  if (security?.chipId !== undefined) {
    const target = targetByChipId(security.chipId);
    return {
      says: `chip id ${security.chipId}`,
      chip: target && { target, security, secureDownloadMode: false },
    };
  }
  let magic: number;
  try {
    magic = await loader.readReg(CHIP_MAGIC_REG);
  } catch (err) {
    if (err instanceof RomCommandError && security) {
      // Only the S2 answers GET_SECURITY_INFO without a chip id (esptool ESP32S2ROM).
      const s2 = targetByRomMagic(0x000007c6);
      return {
        says: "register reads refused",
        chip: s2 && { target: s2, security, secureDownloadMode: true },
      };
    }
    throw err;
  }
  const target = targetByRomMagic(magic);
  const says = `chip magic 0x${magic.toString(16).padStart(8, "0")} at 0x40001000`;
  if (!target) return { says, chip: undefined };
  return {
    says,
    chip: security ? { target, security, secureDownloadMode: false } : { target, secureDownloadMode: false },
  };
}

export async function detectChip(loader: RomLoader): Promise<DetectedChip> {
  const heard: string[] = [];
  let last: { says: string; chip?: DetectedChip | undefined; error?: unknown } | undefined;
  for (let i = 0; i < DETECT_READS; i++) {
    let now: typeof last;
    try {
      now = await detectOnce(loader);
    } catch (err) {
      // A reply lost, or damaged into an error status, on the line: asked again like any answer.
      if (!(err instanceof LinkTimeout) && !(err instanceof RomCommandError)) throw err;
      now = { says: err instanceof LinkTimeout ? "no answer" : `error reply (${err.message})`, error: err };
    }
    heard.push(now.says);
    if (last?.says === now.says) {
      if (now.error !== undefined) throw now.error; // the same failure twice: not the line
      if (now.chip) return { ...now.chip, reads: heard };
      throw new RsagenError(
        "E_CHIP_MISMATCH",
        `the board reports ${now.says}, which rsagen does not support`,
        SUPPORTED_HINT,
      );
    }
    last = now;
  }
  throw new RsagenError(
    "E_NO_SYNC",
    `the chip's loader answers, but ${DETECT_READS} reads of its chip type did not agree (${heard.join(", ")}): the serial line corrupts data`,
    "try a lower --baud, another USB cable or port, and keep the cable away from noise sources",
  );
}
