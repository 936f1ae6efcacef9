// The real firmware end to end on the QEMU esp32 (test/qemu/real-firmware-suite.ts).
import { realFirmwareSuite } from "./real-firmware-suite.js";

await realFirmwareSuite("esp32", "test/qemu/real-firmware.esp32.test.ts");
