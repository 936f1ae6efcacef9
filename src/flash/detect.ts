/**
 * Chip detection as esptool does it (esp-facts section 6): GET_SECURITY_INFO's chip id on S3, C3
 * and C6; otherwise the chip-magic register (ESP32, S2). A ROM that answers GET_SECURITY_INFO but
 * refuses register reads is in Secure Download Mode.
 */
import { RsagenError } from "../errors.js";
import { type TargetInfo, targetByChipId, targetByRomMagic } from "../targets.js";
import { CHIP_MAGIC_REG, RomCommandError, type RomLoader, type SecurityInfo } from "./rom-loader.js";

export interface DetectedChip {
  target: TargetInfo;
  security?: SecurityInfo;
  /** Register reads refused: only FLASH_* and MD5 work, no stub. */
  secureDownloadMode: boolean;
}

export async function detectChip(loader: RomLoader): Promise<DetectedChip> {
  const security = await loader.securityInfo();
  if (security?.chipId !== undefined) {
    const target = targetByChipId(security.chipId);
    if (target) return { target, security, secureDownloadMode: false };
    throw new RsagenError(
      "E_CHIP_MISMATCH",
      `the board reports chip id ${security.chipId}, which rsagen does not support`,
      "rsagen supports esp32, esp32s2, esp32s3, esp32c3 and esp32c6",
    );
  }
  let magic: number;
  try {
    magic = await loader.readReg(CHIP_MAGIC_REG);
  } catch (err) {
    if (err instanceof RomCommandError && security) {
      // Only the S2 answers GET_SECURITY_INFO without a chip id (esptool ESP32S2ROM).
      const s2 = targetByRomMagic(0x000007c6);
      if (s2) return { target: s2, security, secureDownloadMode: true };
    }
    throw err;
  }
  const target = targetByRomMagic(magic);
  if (!target) {
    throw new RsagenError(
      "E_CHIP_MISMATCH",
      `unknown chip magic 0x${magic.toString(16).padStart(8, "0")} at 0x40001000`,
      "rsagen supports esp32, esp32s2, esp32s3, esp32c3 and esp32c6",
    );
  }
  return security ? { target, security, secureDownloadMode: false } : { target, secureDownloadMode: false };
}
