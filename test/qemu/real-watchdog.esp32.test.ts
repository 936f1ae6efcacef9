// The watchdog design at a 1 s timeout on the real firmware, QEMU esp32 (test/qemu/real-watchdog-suite.ts).
import { realWatchdogSuite } from "./real-watchdog-suite.js";

await realWatchdogSuite("esp32", "test/qemu/real-watchdog.esp32.test.ts");
