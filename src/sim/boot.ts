/**
 * What a chip prints and decides between reset and the application: the mask ROM's banner and
 * first-stage load of the 2nd-stage bootloader, then the 2nd-stage bootloader (partition table,
 * app selection, image verification) as ESP-IDF v5.x prints it.
 *
 * Strings: ESP-IDF bootloader_support (bootloader_utility.c "Partition Table:", "## Label ...",
 * "End of partition table", "Loaded app from partition at offset 0x%x", "No bootable app
 * partitions in the partition table", "Factory app partition is not bootable";
 * esp_image_format.c "image at 0x%x has invalid magic byte (nothing flashed here?)", "Checksum
 * failed. Calculated 0x%x read 0x%x", "Image hash failed - image is corrupt", "segment %d:
 * paddr=%08x vaddr=%08x size=%05xh (%6d) %s"; bootloader_common.c "mismatch chip ID, expected %d,
 * found %d"; esp_partition/flash_partitions.c "partition %d invalid magic number 0x%x",
 * "Incorrect MD5 checksum"; bootloader_start.c "load partition table error!").
 */
import { crc32 } from "node:zlib";
import { imageProblems, isFlashMapped, type ParsedImage, parseImage } from "../image/index.js";
import { decodePartitionTable, type PartitionEntry } from "../partitions/index.js";
import type { TargetInfo } from "../targets.js";
import type { FlashBackend } from "./flash.js";

export type ResetReason = "poweron" | "software" | "system";

export type BootOutcome =
  | { kind: "app"; partition: PartitionEntry; image: Uint8Array; parsed: ParsedImage }
  /** The ROM or the bootloader gave up; a real chip resets and tries again. */
  | { kind: "fail"; reason: string };

export interface BootResult {
  log: string;
  outcome: BootOutcome;
}

const hx = (n: number) => `0x${n.toString(16)}`;
const h8 = (n: number) => n.toString(16).padStart(8, "0");

/**
 * "rst:" line reset reasons as each ROM prints them. All five chips report 0x1 for power-on/EN,
 * 0x3 for a software reset of the digital system (bootloader_reset() after a failed boot) and 0xc
 * (RESET_REASON_CPU0_SW) after esp_restart_noos(), which every panic, task-watchdog panic
 * (CONFIG_ESP_TASK_WDT_PANIC=y -> abort() -> panic handler -> esp_restart_noos) and esp_restart()
 * ends in: IDF v5.x components/esp_system/port/soc/<chip>/system_internal.c calls
 * esp_rom_software_reset_cpu(0). The names differ per ROM, as seen in real boot logs:
 * ESP32 "SW_CPU_RESET"/"SW_RESET"; S2, S3, C3 "RTC_SW_CPU_RST"/"RTC_SW_SYS_RST"; C6 "SW_CPU"/
 * "LP_SW_HPSYS" (e.g. espressif/esp-idf#10247, espressif/arduino-esp32#6604 and #10085,
 * luar123/zigbee_esphome#15, esp32.com t=23460).
 */
function resetText(t: TargetInfo, reason: ResetReason): string {
  if (reason === "poweron") return t.name === "esp32" ? "0x1 (POWERON_RESET)" : "0x1 (POWERON)";
  const names: Record<TargetInfo["name"], [cpu: string, sys: string]> = {
    esp32: ["SW_CPU_RESET", "SW_RESET"],
    esp32s2: ["RTC_SW_CPU_RST", "RTC_SW_SYS_RST"],
    esp32s3: ["RTC_SW_CPU_RST", "RTC_SW_SYS_RST"],
    esp32c3: ["RTC_SW_CPU_RST", "RTC_SW_SYS_RST"],
    esp32c6: ["SW_CPU", "LP_SW_HPSYS"],
  };
  const [cpu, sys] = names[t.name];
  return reason === "system" ? `0x3 (${sys})` : `0xc (${cpu})`;
}

/**
 * The ESP-ROM family (S2, S3, C3, C6) prints "Saved PC:0x..." (the CPU's PC when the reset hit)
 * after the rst line of every reset that is not a power-on, in flash and download boot alike; the
 * ESP32 ROM does not. The board runs no CPU, so the value is one a real chip of that target printed
 * after a panic reboot (esp_restart_noos in IRAM; on the C6 the ROM's reset routine), taken from the
 * logs cited above. It is synthetic: do not decode it against an ELF.
 */
const SAVED_PC: Partial<Record<TargetInfo["name"], number>> = {
  esp32s2: 0x40028f28,
  esp32s3: 0x40376b3c,
  esp32c3: 0x403818dc,
  esp32c6: 0x4001975a,
};

function savedPcLine(t: TargetInfo, reason: ResetReason): string {
  const pc = SAVED_PC[t.name];
  return reason === "poweron" || pc === undefined ? "" : `Saved PC:0x${h8(pc)}\r\n`;
}

/** Boot mode for SPI flash boot (GPIO0/GPIO9 high). */
const FLASH_BOOT: Record<string, string> = {
  esp32: "0x13 (SPI_FAST_FLASH_BOOT)",
  esp32s2: "0x8 (SPI_FAST_FLASH_BOOT)",
  esp32s3: "0x8 (SPI_FAST_FLASH_BOOT)",
  esp32c3: "0xc (SPI_FAST_FLASH_BOOT)",
  esp32c6: "0xc (SPI_FAST_FLASH_BOOT)",
};

/** The ROM banner; for download mode it is the target's captured banner with the reset reason. */
export function romBanner(t: TargetInfo, reason: ResetReason, download: boolean): string {
  const m = /^([\s\S]*?)rst:[^,]*,boot:([^\r\n]*)\r\n([\s\S]*)$/.exec(t.romBanner);
  if (!m) return t.romBanner;
  const [, head, bootText, tail] = m as unknown as [string, string, string, string];
  const pc = savedPcLine(t, reason);
  if (download) return `${head}rst:${resetText(t, reason)},boot:${bootText}\r\n${pc}${tail}`;
  return `${head}rst:${resetText(t, reason)},boot:${FLASH_BOOT[t.name]}\r\n${pc}`;
}

class Log {
  private ms = 24;
  text = "";
  raw(s: string): void {
    this.text += s;
  }
  line(level: "I" | "W" | "E", tag: string, msg: string): void {
    this.text += `${level} (${this.ms}) ${tag}: ${msg}\r\n`;
    this.ms += 3 + (msg.length % 5);
  }
}

const SPI_MODES = ["QIO", "QOUT", "DIO", "DOUT", "FAST READ", "SLOW READ"];
const SPI_SPEEDS: Record<number, string> = { 0: "40MHz", 1: "26.7MHz", 2: "20MHz", 15: "80MHz" };

function usage(p: PartitionEntry): string {
  if (p.type === 0) {
    if (p.subtype === 0) return "factory app";
    if (p.subtype >= 0x10 && p.subtype < 0x20) return "OTA app";
    if (p.subtype === 0x20) return "test app";
    return "unknown";
  }
  if (p.type === 1) {
    const names: Record<number, string> = {
      0: "OTA data",
      1: "RF data",
      2: "WiFi data",
      3: "NVS keys",
      4: "efuse",
    };
    return names[p.subtype] ?? "unknown data";
  }
  return "unknown";
}

export interface BootOptions {
  reason: ResetReason;
  /** Chip revision as major*100+minor, printed by the bootloader. */
  chipRevision?: number;
}

/** Runs the ROM's flash boot and the 2nd-stage bootloader over the flash contents. */
export function bootFromFlash(t: TargetInfo, flash: FlashBackend, opts: BootOptions): BootResult {
  const log = new Log();
  log.raw(romBanner(t, opts.reason, false));

  // --- ROM: load the 2nd-stage bootloader's RAM segments.
  const blBytes = flash.read(t.bootloaderOffset, Math.min(0x10000, flash.size - t.bootloaderOffset))!;
  let bl: ParsedImage;
  try {
    bl = parseImage(blBytes, { target: t.name });
  } catch {
    const word = new DataView(blBytes.buffer, blBytes.byteOffset, 4).getUint32(0, true);
    log.raw(`invalid header: 0x${h8(word)}\r\n`);
    return { log: log.text, outcome: { kind: "fail", reason: "no valid 2nd-stage bootloader" } };
  }
  if (bl.header.chipId !== t.chipId || !bl.checksum.valid) {
    log.raw(bl.checksum.valid ? `invalid header: 0x${h8(bl.header.chipId)}\r\n` : "checksum error\r\n");
    return {
      log: log.text,
      outcome: { kind: "fail", reason: "2nd-stage bootloader image rejected by the ROM" },
    };
  }
  const mode = SPI_MODES[bl.header.flashMode] ?? "DIO";
  log.raw(
    t.name === "esp32"
      ? "configsip: 0, SPIWP:0xee\r\nclk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\n"
      : "SPIWP:0xee\r\n",
  );
  log.raw(`mode:${mode}, clock div:${t.name === "esp32" ? 2 : 1}\r\n`);
  for (const s of bl.segments) {
    log.raw(
      t.name === "esp32"
        ? `load:0x${h8(s.loadAddr)},len:${s.length}\r\n`
        : `load:0x${h8(s.loadAddr)},len:0x${s.length.toString(16)}\r\n`,
    );
  }
  log.raw(`entry 0x${h8(bl.header.entry)}\r\n`);

  // --- 2nd-stage bootloader.
  const idf = bl.bootloaderDesc?.idfVer ?? "v5.5.5";
  log.line("I", "boot", `ESP-IDF ${idf} 2nd stage bootloader`);
  if (bl.bootloaderDesc) log.line("I", "boot", `compile time ${bl.bootloaderDesc.dateTime}`);
  const rev = opts.chipRevision ?? 0;
  log.line("I", "boot", `chip revision: v${Math.floor(rev / 100)}.${rev % 100}`);
  const tag = `boot.${t.name}`;
  log.line("I", tag, `SPI Speed      : ${SPI_SPEEDS[bl.header.flashFreqCode] ?? "80MHz"}`);
  log.line("I", tag, `SPI Mode       : ${mode}`);
  log.line("I", tag, `SPI Flash Size : ${2 ** bl.header.flashSizeCode}MB`);
  log.line("I", "boot", "Enabling RNG early entropy source...");

  const tableBytes = flash.read(t.partitionTableOffset, 0xc00)!;
  let entries: PartitionEntry[];
  try {
    if (tableBytes[0] !== 0xaa || tableBytes[1] !== 0x50) {
      const magic = tableBytes[0]! | (tableBytes[1]! << 8);
      log.line("E", "flash_parts", `partition 0 invalid magic number ${hx(magic)}`);
      throw new Error("magic");
    }
    entries = decodePartitionTable(tableBytes).entries;
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("MD5"))
      log.line("E", "flash_parts", "Incorrect MD5 checksum");
    else if (!(err instanceof Error && err.message === "magic"))
      log.line("E", "flash_parts", "partition table has no terminating entry, not valid");
    log.line("E", "boot", "Failed to verify partition table");
    log.line("E", "boot", "load partition table error!");
    return { log: log.text, outcome: { kind: "fail", reason: "partition table invalid" } };
  }
  log.line("I", "boot", "Partition Table:");
  log.line("I", "boot", "## Label            Usage          Type ST Offset   Length");
  entries.forEach((p, i) => {
    log.line(
      "I",
      "boot",
      `${String(i).padStart(2)} ${p.name.padEnd(16)} ${usage(p).padEnd(16)} ${h2(p.type)} ${h2(p.subtype)} ${h8(p.offset)} ${h8(p.size)}`,
    );
  });
  log.line("I", "boot", "End of partition table");

  const apps = entries.filter((p) => p.type === 0);
  const factory = apps.find((p) => p.subtype === 0);
  const otas = apps
    .filter((p) => p.subtype >= 0x10 && p.subtype < 0x20)
    .sort((a, b) => a.subtype - b.subtype);
  const choice = pickOta(flash, entries, otas) ?? factory ?? otas[0];
  if (!choice) {
    log.line("E", "boot", "No bootable app partitions in the partition table");
    return { log: log.text, outcome: { kind: "fail", reason: "no app partition" } };
  }
  const label =
    choice.subtype === 0 ? "Factory app partition" : `OTA app partition slot ${choice.subtype - 0x10}`;
  const verdict = verifyApp(t, flash, choice, log);
  if (verdict.kind === "fail") {
    log.line("E", "boot", `${label} is not bootable`);
    log.line("E", "boot", "No bootable app partitions in the partition table");
    return { log: log.text, outcome: verdict };
  }
  for (const s of verdict.parsed.segments) {
    const kind = isFlashMapped(t.name, s.loadAddr) ? "map" : "load";
    log.line(
      "I",
      "esp_image",
      `segment ${s.index}: paddr=${h8(choice.offset + s.dataOffset)} vaddr=${h8(s.loadAddr)} size=${s.length.toString(16).padStart(5, "0")}h (${String(s.length).padStart(6)}) ${kind}`,
    );
  }
  log.line("I", "boot", `Loaded app from partition at offset ${hx(choice.offset)}`);
  log.line("I", "boot", "Disabling RNG early entropy source...");
  return { log: log.text, outcome: verdict };
}

const h2 = (n: number) => n.toString(16).padStart(2, "0");

/**
 * OTA data: two esp_ota_select_entry_t records (sectors 0 and 1 of the otadata partition): u32
 * ota_seq, 20-byte seq_label, u32 ota_state, u32 crc. A record counts only if ota_seq is not
 * 0xFFFFFFFF, its crc is esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4), and ota_state is not
 * ESP_OTA_IMG_INVALID (3) or ESP_OTA_IMG_ABORTED (4) (IDF bootloader_common_loader.c
 * bootloader_common_ota_select_valid / _invalid / _crc). The highest valid ota_seq picks slot
 * (seq-1) % count; with no valid record the bootloader falls back to factory, else OTA slot 0.
 * esp_rom_crc32_le(UINT32_MAX, ...) equals zlib's crc32(data, 0xFFFFFFFF). The board takes node:zlib's,
 * never the device client's codec (src/device/frame.ts): a CRC bug must not hide on both sides.
 */
function pickOta(
  flash: FlashBackend,
  entries: PartitionEntry[],
  otas: PartitionEntry[],
): PartitionEntry | undefined {
  const otadata = entries.find((p) => p.type === 1 && p.subtype === 0);
  if (!otadata || otas.length === 0) return undefined;
  let best = 0;
  for (const off of [0, 0x1000]) {
    const rec = flash.read(otadata.offset + off, 32);
    if (!rec) continue;
    const v = new DataView(rec.buffer, rec.byteOffset, 32);
    const seq = v.getUint32(0, true);
    const state = v.getUint32(24, true);
    const valid =
      seq !== 0xffffffff &&
      v.getUint32(28, true) === crc32(rec.subarray(0, 4), 0xffffffff) &&
      state !== 3 &&
      state !== 4;
    if (valid && seq > best) best = seq;
  }
  if (best === 0) return undefined;
  return otas[(best - 1) % otas.length];
}

function verifyApp(t: TargetInfo, flash: FlashBackend, p: PartitionEntry, log: Log): BootOutcome {
  const bytes = flash.read(p.offset, p.size);
  if (!bytes) return { kind: "fail", reason: `partition at ${hx(p.offset)} lies outside the flash` };
  if (bytes[0] !== 0xe9) {
    log.line("E", "esp_image", `image at ${hx(p.offset)} has invalid magic byte (nothing flashed here?)`);
    return { kind: "fail", reason: "invalid magic byte" };
  }
  let parsed: ParsedImage;
  try {
    parsed = parseImage(bytes, { target: t.name });
  } catch (err) {
    log.line(
      "E",
      "esp_image",
      `image at ${hx(p.offset)} is truncated or malformed: ${(err as Error).message}`,
    );
    return { kind: "fail", reason: "malformed image" };
  }
  if (parsed.header.chipId !== t.chipId) {
    log.line("E", "boot_comm", `mismatch chip ID, expected ${t.chipId}, found ${parsed.header.chipId}`);
    return { kind: "fail", reason: "wrong chip id" };
  }
  if (!parsed.checksum.valid) {
    log.line(
      "E",
      "esp_image",
      `Checksum failed. Calculated ${hx(parsed.checksum.computed)} read ${hx(parsed.checksum.stored)}`,
    );
    return { kind: "fail", reason: "checksum failed" };
  }
  if (parsed.sha256 && !parsed.sha256.valid) {
    log.line("E", "esp_image", "Image hash failed - image is corrupt");
    return { kind: "fail", reason: "image hash failed" };
  }
  const problems = imageProblems(parsed, { target: t.name, kind: "app" }).filter(
    (x) => x.code !== "checksum" && x.code !== "sha256" && x.code !== "wrong-chip" && x.code !== "no-sha256",
  );
  const fatal = problems.find((x) => !x.code.startsWith("chip-rev"));
  if (fatal) {
    log.line("E", "esp_image", fatal.message);
    return { kind: "fail", reason: fatal.code };
  }
  return { kind: "app", partition: p, image: bytes.subarray(0, parsed.length), parsed };
}
