/**
 * Espressif's esptool against the virtual ESP32, ESP32-S2, ESP32-S3 and ESP32-C6 over RFC 2217:
 * detection, flash id, a compressed write, verify (and a verify that must fail), read back, with the
 * flasher stub at 921600 baud and with --no-stub (ROM, READ_FLASH_SLOW) at 115200. Every command on
 * both loaders and bauds runs on the ESP32-C3 (esptool-c3.test.ts). Skipped where esptool is absent.
 */
import type { TargetName } from "../../src/targets.js";
import { type Command, esptoolGroup } from "./helpers/esptool-matrix.js";

const COMMANDS: Command[] = ["chip-id", "flash-id", "write-flash", "verify-flash", "read-flash"];

for (const target of ["esp32", "esp32s2", "esp32s3", "esp32c6"] as TargetName[]) {
  esptoolGroup({ target, stub: true, baud: 921600, commands: COMMANDS });
  esptoolGroup({ target, stub: false, baud: 115200, commands: COMMANDS });
}
