/**
 * What Espressif's QEMU needs per chip: the binary, the machine, the strapping value for each boot
 * mode, and an eFuse image. Facts from Espressif's QEMU fork (include/hw/gpio/esp32c3_gpio.h and
 * esp32_gpio.h: ESP32C3_STRAP_MODE_FLASH_BOOT 0x08, ESP32C3_STRAP_MODE_UART_BOOT 0x02,
 * ESP32_STRAP_MODE_FLASH_BOOT 0x12, ESP32_STRAP_MODE_UART_BOOT 0x0f) and from how ESP-IDF v5.5.5
 * runs it (tools/idf_py_actions/qemu_ext.py: machine arguments, the eFuse drive, and the default
 * eFuse images that make the chip report revision 3 (ESP32) / v0.3 (ESP32-C3), which ESP-IDF's
 * bootloader requires by default). Only these two machines exist in Espressif's QEMU builds here.
 */
import type { TargetName } from "../../targets.js";

export interface QemuTarget {
  /** qemu-system-<arch> */
  arch: "riscv32" | "xtensa";
  /** The tools.json package ESP-IDF installs it with (idf_tools.py install <package>). */
  idfToolsPackage: "qemu-riscv32" | "qemu-xtensa";
  machineArgs: string[];
  /** QOM type of the GPIO block whose strap_mode property selects the boot mode. */
  gpioDriver: string;
  strapDownload: number;
  strapFlashBoot: number;
  /** QOM type of the eFuse block that takes the eFuse drive. */
  efuseDriver: string;
  /** A fresh eFuse image (all zero except the chip revision). */
  efuseImage(): Uint8Array;
  /** Flash sizes the machine's SPI flash model accepts. */
  flashSizes: number[];
}

const MB = 1024 * 1024;

export const QEMU_TARGETS: Partial<Record<TargetName, QemuTarget>> = {
  esp32: {
    arch: "xtensa",
    idfToolsPackage: "qemu-xtensa",
    machineArgs: ["-M", "esp32", "-m", "4M"],
    gpioDriver: "esp32.gpio",
    strapDownload: 0x0f,
    strapFlashBoot: 0x12,
    efuseDriver: "nvram.esp32.efuse",
    efuseImage: () => {
      // 124 bytes (BLK0..BLK3 as QEMU lays them out); bytes 13 and 22 carry chip revision 3.
      const e = new Uint8Array(124);
      e[13] = 0x80;
      e[22] = 0x10;
      return e;
    },
    flashSizes: [2 * MB, 4 * MB, 8 * MB, 16 * MB],
  },
  esp32c3: {
    arch: "riscv32",
    idfToolsPackage: "qemu-riscv32",
    machineArgs: ["-M", "esp32c3"],
    gpioDriver: "esp32c3.gpio",
    strapDownload: 0x02,
    strapFlashBoot: 0x08,
    efuseDriver: "nvram.esp32c3.efuse",
    efuseImage: () => {
      // 1024 bytes; byte 38 carries chip revision v0.3.
      const e = new Uint8Array(1024);
      e[38] = 0x0c;
      return e;
    },
    flashSizes: [2 * MB, 4 * MB, 8 * MB, 16 * MB],
  },
};

export function qemuTarget(target: TargetName): QemuTarget | undefined {
  return QEMU_TARGETS[target];
}
