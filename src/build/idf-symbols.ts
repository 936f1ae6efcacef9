/**
 * The ESP-IDF Kconfig symbols rsagen's sdkconfig/ files may set, each with the file that defines it
 * at ESP-IDF tag v5.5.5 (checked with `git show v5.5.5:<file>`; test/build/idf-symbols.test.ts
 * re-checks them against a checkout when RSAGEN_IDF_SRC points at one) and the targets on which it
 * exists. Symbols defined by the project itself come from firmware/**\/Kconfig* (see
 * project-kconfig.ts); anything else in an sdkconfig/ file is an error, so a typo cannot pass as a
 * silently ignored default.
 */
import type { TargetName } from "../targets.js";

export interface IdfSymbol {
  /** Path in the ESP-IDF tree at v5.5.5 where `config <name>` appears. */
  file: string;
  /** Targets on which the symbol exists (all when absent). */
  targets?: readonly TargetName[];
  /** Why it is restricted, when it is. */
  note?: string;
}

const DUAL_CORE: readonly TargetName[] = ["esp32", "esp32s3"];
const NOT_ESP32: readonly TargetName[] = ["esp32s2", "esp32s3", "esp32c3", "esp32c6"];

export const IDF_SYMBOLS: Readonly<Record<string, IdfSymbol>> = {
  IDF_TARGET: { file: "Kconfig" },
  COMPILER_OPTIMIZATION_SIZE: { file: "Kconfig" },
  ESP_TASK_WDT_EN: { file: "components/esp_system/Kconfig" },
  ESP_TASK_WDT_INIT: { file: "components/esp_system/Kconfig" },
  ESP_TASK_WDT_PANIC: { file: "components/esp_system/Kconfig" },
  ESP_TASK_WDT_TIMEOUT_S: { file: "components/esp_system/Kconfig" },
  ESP_TASK_WDT_CHECK_IDLE_TASK_CPU0: { file: "components/esp_system/Kconfig" },
  ESP_TASK_WDT_CHECK_IDLE_TASK_CPU1: {
    file: "components/esp_system/Kconfig",
    targets: DUAL_CORE,
    note: "depends on !FREERTOS_UNICORE; esp32s2/c3/c6 select FREERTOS_UNICORE",
  },
  ESP_SYSTEM_PANIC_PRINT_REBOOT: { file: "components/esp_system/Kconfig" },
  ESP_CONSOLE_UART_DEFAULT: { file: "components/esp_system/Kconfig" },
  ESP_MAIN_TASK_STACK_SIZE: { file: "components/esp_system/Kconfig" },
  LOG_DEFAULT_LEVEL_INFO: { file: "components/log/Kconfig.level" },
  MBEDTLS_HARDWARE_MPI: { file: "components/mbedtls/Kconfig" },
  MBEDTLS_MPI_USE_INTERRUPT: {
    file: "components/mbedtls/Kconfig",
    targets: NOT_ESP32,
    note: "depends on !IDF_TARGET_ESP32",
  },
  ESPTOOLPY_FLASHMODE_DIO: { file: "components/esptool_py/Kconfig.projbuild" },
  ESPTOOLPY_FLASHSIZE_2MB: { file: "components/esptool_py/Kconfig.projbuild" },
  ESPTOOLPY_FLASHSIZE_4MB: { file: "components/esptool_py/Kconfig.projbuild" },
  ESPTOOLPY_FLASHSIZE_8MB: { file: "components/esptool_py/Kconfig.projbuild" },
  ESPTOOLPY_FLASHSIZE_16MB: { file: "components/esptool_py/Kconfig.projbuild" },
  // Flash frequency choices are per chip: components/spi_flash/<target>/Kconfig.flash_freq.
  ESPTOOLPY_FLASHFREQ_40M: { file: "components/spi_flash/<target>/Kconfig.flash_freq" },
  ESPTOOLPY_FLASHFREQ_80M: { file: "components/spi_flash/<target>/Kconfig.flash_freq" },
  PARTITION_TABLE_CUSTOM: { file: "components/partition_table/Kconfig.projbuild" },
  PARTITION_TABLE_CUSTOM_FILENAME: { file: "components/partition_table/Kconfig.projbuild" },
  PARTITION_TABLE_OFFSET: { file: "components/partition_table/Kconfig.projbuild" },
};

/** The file that defines `name` for `target`, or undefined when the symbol does not exist there. */
export function idfSymbolFile(name: string, target: TargetName): string | undefined {
  const sym = IDF_SYMBOLS[name];
  if (!sym) return undefined;
  if (sym.targets && !sym.targets.includes(target)) return undefined;
  return sym.file.replace("<target>", target);
}
