/**
 * Facts about the five supported chips. Every other module takes chip facts from here.
 *
 * Sources (see ../docs/targets.md for the longer list):
 * - chip ids: ESP-IDF v5.5.5 `esp_app_format.h` (esp_chip_id_t), esptool `IMAGE_CHIP_ID`.
 * - bootloader offset: ESP-IDF `components/bootloader/Kconfig.projbuild` BOOTLOADER_OFFSET_IN_FLASH.
 * - ROM chip magic at 0x40001000 (esp32, esp32s2) and GET_SECURITY_INFO chip ids (s3, c3, c6):
 *   esptool `targets/*.py` (CHIP_DETECT_MAGIC_VALUE, USES_MAGIC_VALUE=False) and the ROM transcripts
 *   in test/vectors/rom-transcripts.
 * - RSA accelerator limit: `soc/<t>/include/soc/Kconfig.soc_caps.in` SOC_RSA_MAX_BIT_LEN.
 * - Native USB: USB-Serial-JTAG VID 0x303A PID 0x1001 (s3, c3, c6); the S2 has USB-OTG only
 *   (PID 0x0002 in download mode).
 * - ROM banners: bytes captured from the real mask ROMs (esp32c3, esp32); the others follow
 *   the same ROM family format.
 * - Memory map: ESP-IDF `components/esp_system/ld/<chip>/memory.ld.in`, esptool MEMORY_MAP.
 */

export const TARGET_NAMES = ["esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c6"] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export interface UsbId {
  vid: number;
  pid: number;
}

export interface MemoryRegion {
  start: number;
  end: number; // exclusive
}

export interface TargetInfo {
  name: TargetName;
  /** Human name as esptool prints it. */
  displayName: string;
  /** esp_chip_id_t in the image extended header. */
  chipId: number;
  /** Where the 2nd-stage bootloader lives in flash. */
  bootloaderOffset: number;
  /** Partition table offset (CONFIG_PARTITION_TABLE_OFFSET default). */
  partitionTableOffset: number;
  /** Value of the chip-magic register 0x40001000, for chips detected that way (esp32, esp32s2). */
  romMagic?: number;
  /** Whether the ROM implements GET_SECURITY_INFO (0x14). */
  romHasSecurityInfo: boolean;
  /** Whether GET_SECURITY_INFO carries the chip id (s3 and later). */
  securityInfoHasChipId: boolean;
  /** FLASH_BEGIN/FLASH_DEFL_BEGIN in ROM take a fifth "encrypted" word. */
  romFlashBeginHasEncryptedWord: boolean;
  /** Flash size of the common dev kit, the virtual board's default. */
  defaultFlashSize: number;
  /** SOC_MPI_SUPPORTED: the RSA accelerator exists. */
  hasRsaAccelerator: true;
  /** SOC_RSA_MAX_BIT_LEN. */
  rsaMaxBits: 3072 | 4096;
  /** FreeRTOS cores. */
  cores: 1 | 2;
  /** RISC-V or Xtensa. */
  arch: "xtensa" | "riscv";
  /** Strapping pin that selects download mode (held low at reset). */
  bootStrapPin: number;
  /** Native USB port (download mode), if the chip has one. */
  nativeUsb?: UsbId & { kind: "usb-serial-jtag" | "usb-otg" };
  /** Exact ROM banner printed at power-on reset into UART download mode (CRLF line ends). */
  romBanner: string;
  /** App memory map used when laying out images. */
  memory: { drom: MemoryRegion; irom: MemoryRegion; iram: MemoryRegion; dram: MemoryRegion };
  /** Image header flash-frequency nibbles for the frequencies this chip supports. */
  flashFreqCodes: Record<string, number>;
}

const FREQ_CLASSIC = { "40m": 0x0, "26m": 0x1, "20m": 0x2, "80m": 0xf } as const;

export const TARGETS: Record<TargetName, TargetInfo> = {
  esp32: {
    name: "esp32",
    displayName: "ESP32",
    chipId: 0x0000,
    bootloaderOffset: 0x1000,
    partitionTableOffset: 0x8000,
    romMagic: 0x00f01d83,
    romHasSecurityInfo: false,
    securityInfoHasChipId: false,
    romFlashBeginHasEncryptedWord: false,
    defaultFlashSize: 4 * 1024 * 1024,
    hasRsaAccelerator: true,
    rsaMaxBits: 4096,
    cores: 2,
    arch: "xtensa",
    bootStrapPin: 0,
    romBanner: "ets Jul 29 2019 12:21:46\r\n\r\nrst:0x1 (POWERON_RESET),boot:0xf (UART_BOOT(UART0))\r\n",
    memory: {
      drom: { start: 0x3f400000, end: 0x3f800000 },
      irom: { start: 0x400d0000, end: 0x40400000 },
      iram: { start: 0x40080000, end: 0x400a0000 },
      // esptool targets/esp32.py MEMORY_MAP: DRAM 0x3FFAE000-0x40000000 (SOC_DRAM_LOW 0x3FFAE000).
      dram: { start: 0x3ffae000, end: 0x40000000 },
    },
    flashFreqCodes: { ...FREQ_CLASSIC },
  },
  esp32s2: {
    name: "esp32s2",
    displayName: "ESP32-S2",
    chipId: 0x0002,
    bootloaderOffset: 0x1000,
    partitionTableOffset: 0x8000,
    romMagic: 0x000007c6,
    romHasSecurityInfo: true,
    securityInfoHasChipId: false,
    romFlashBeginHasEncryptedWord: true,
    defaultFlashSize: 4 * 1024 * 1024,
    hasRsaAccelerator: true,
    rsaMaxBits: 4096,
    cores: 1,
    arch: "xtensa",
    bootStrapPin: 0,
    nativeUsb: { vid: 0x303a, pid: 0x0002, kind: "usb-otg" },
    romBanner:
      "ESP-ROM:esp32s2-rc4-20191025\r\nBuild:Oct 25 2019\r\nrst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0/1))\r\nwaiting for download\r\n",
    memory: {
      drom: { start: 0x3f000000, end: 0x3ff80000 },
      irom: { start: 0x40080000, end: 0x40800000 },
      iram: { start: 0x40020000, end: 0x40070000 },
      dram: { start: 0x3ffb0000, end: 0x40000000 },
    },
    flashFreqCodes: { ...FREQ_CLASSIC },
  },
  esp32s3: {
    name: "esp32s3",
    displayName: "ESP32-S3",
    chipId: 0x0009,
    bootloaderOffset: 0x0,
    partitionTableOffset: 0x8000,
    romHasSecurityInfo: true,
    securityInfoHasChipId: true,
    romFlashBeginHasEncryptedWord: true,
    defaultFlashSize: 8 * 1024 * 1024,
    hasRsaAccelerator: true,
    rsaMaxBits: 4096,
    cores: 2,
    arch: "xtensa",
    bootStrapPin: 0,
    nativeUsb: { vid: 0x303a, pid: 0x1001, kind: "usb-serial-jtag" },
    romBanner:
      "ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\nrst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n",
    memory: {
      drom: { start: 0x3c000000, end: 0x3e000000 },
      irom: { start: 0x42000000, end: 0x44000000 },
      iram: { start: 0x40370000, end: 0x403e0000 },
      dram: { start: 0x3fc88000, end: 0x3fd00000 },
    },
    flashFreqCodes: { ...FREQ_CLASSIC },
  },
  esp32c3: {
    name: "esp32c3",
    displayName: "ESP32-C3",
    chipId: 0x0005,
    bootloaderOffset: 0x0,
    partitionTableOffset: 0x8000,
    romHasSecurityInfo: true,
    securityInfoHasChipId: true,
    romFlashBeginHasEncryptedWord: true,
    defaultFlashSize: 4 * 1024 * 1024,
    hasRsaAccelerator: true,
    rsaMaxBits: 3072,
    cores: 1,
    arch: "riscv",
    bootStrapPin: 9,
    nativeUsb: { vid: 0x303a, pid: 0x1001, kind: "usb-serial-jtag" },
    // Captured from the real mask ROM (test/vectors/rom-transcripts/esp32c3-rom-banner.bin).
    romBanner:
      "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\nrst:0x1 (POWERON),boot:0x2 (UART0_BOOT)\r\nwait uart0 download\r\n",
    memory: {
      drom: { start: 0x3c000000, end: 0x3c800000 },
      irom: { start: 0x42000000, end: 0x42800000 },
      iram: { start: 0x4037c000, end: 0x403e0000 },
      dram: { start: 0x3fc80000, end: 0x3fce0000 },
    },
    flashFreqCodes: { ...FREQ_CLASSIC },
  },
  esp32c6: {
    name: "esp32c6",
    displayName: "ESP32-C6",
    chipId: 0x000d,
    bootloaderOffset: 0x0,
    partitionTableOffset: 0x8000,
    romHasSecurityInfo: true,
    securityInfoHasChipId: true,
    romFlashBeginHasEncryptedWord: true,
    defaultFlashSize: 8 * 1024 * 1024,
    hasRsaAccelerator: true,
    rsaMaxBits: 3072,
    cores: 1,
    arch: "riscv",
    bootStrapPin: 9,
    nativeUsb: { vid: 0x303a, pid: 0x1001, kind: "usb-serial-jtag" },
    romBanner:
      "ESP-ROM:esp32c6-20220919\r\nBuild:Sep 19 2022\r\nrst:0x1 (POWERON),boot:0x4 (DOWNLOAD(USB/UART0/SDIO_FEI_FEO))\r\nwaiting for download\r\n",
    // One cache window serves code and read-only data on the C6: ESP-IDF soc/esp32c6/include/soc/soc.h
    // has SOC_DROM_LOW = SOC_IROM_LOW = 0x42000000, and esptool (>= v4.10, commit 3555fe1 "fix: Not
    // reading app description for some SoCs"; v5.3.0 prints segments there as "DROM, IROM") has both
    // DROM and IROM at 0x42000000-0x43000000 in MEMORY_MAP. Its is_flash_addr range (IROM_MAP
    // 0x42000000-0x42800000 + DROM_MAP 0x42800000-0x43000000) is the same span.
    memory: {
      drom: { start: 0x42000000, end: 0x43000000 },
      irom: { start: 0x42000000, end: 0x43000000 },
      iram: { start: 0x40800000, end: 0x40880000 },
      dram: { start: 0x40800000, end: 0x40880000 },
    },
    // On C6, 80m and 40m both encode as 0 (test/vectors/images/app-esp32c6.info.txt).
    flashFreqCodes: { "80m": 0x0, "40m": 0x0, "20m": 0x2 },
  },
};

export function isTargetName(name: string): name is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(name);
}

export function targetByChipId(chipId: number): TargetInfo | undefined {
  return Object.values(TARGETS).find((t) => t.chipId === chipId);
}

export function targetByRomMagic(magic: number): TargetInfo | undefined {
  return Object.values(TARGETS).find((t) => t.romMagic === magic);
}

/** Image header flash-size nibble (high nibble of byte 3). */
export const FLASH_SIZE_CODES: Record<string, number> = {
  "1MB": 0x0,
  "2MB": 0x1,
  "4MB": 0x2,
  "8MB": 0x3,
  "16MB": 0x4,
  "32MB": 0x5,
  "64MB": 0x6,
  "128MB": 0x7,
};

/** Image header flash-mode byte. */
export const FLASH_MODE_CODES: Record<string, number> = { qio: 0, qout: 1, dio: 2, dout: 3 };

/** USB bridges found on ESP32 dev boards (port auto-detection). */
export const USB_BRIDGES: ReadonlyArray<UsbId & { name: string }> = [
  { vid: 0x10c4, pid: 0xea60, name: "Silicon Labs CP210x" },
  { vid: 0x10c4, pid: 0xea70, name: "Silicon Labs CP2105" },
  { vid: 0x1a86, pid: 0x7523, name: "WCH CH340" },
  { vid: 0x1a86, pid: 0x55d4, name: "WCH CH9102/CH343" },
  { vid: 0x1a86, pid: 0x55d3, name: "WCH CH343" },
  { vid: 0x0403, pid: 0x6001, name: "FTDI FT232R" },
  { vid: 0x0403, pid: 0x6010, name: "FTDI FT2232" },
  { vid: 0x0403, pid: 0x6015, name: "FTDI FT-X" },
  { vid: 0x303a, pid: 0x1001, name: "Espressif USB-Serial/JTAG" },
  { vid: 0x303a, pid: 0x0002, name: "Espressif USB-OTG (download mode)" },
];
