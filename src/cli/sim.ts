/**
 * `rsagen sim`: the declaration (options and help; the fault knobs' help comes from the zod-free
 * src/sim/fault-knobs.ts). The work runs in ./actions/sim.ts, loaded only when the command runs
 * (see docs/architecture.md, "Adding a command").
 */
import type { Command } from "commander";
import { faultKnobsHelp } from "../sim/fault-knobs.js";

export interface SimRawOptions {
  target: string;
  flash: string | undefined;
  flashSize: string | undefined;
  listen: string;
  pty: boolean;
  baudPacing: boolean;
  wdtMs: string | undefined;
  usbSerialJtag: boolean;
  fault: string[] | undefined;
  engine: string;
  qemu: string | undefined;
}

export function registerSim(program: Command): void {
  program
    .command("sim")
    .description("run a virtual ESP32-family board (ROM download mode, SPI flash, boot, firmware)")
    .option("-t, --target <target>", "chip to emulate", "esp32c3")
    .option(
      "--engine <engine>",
      "host: the firmware's C code built for this machine (rsagen build --host); qemu: the real ESP-IDF firmware on Espressif's QEMU (esp32c3, esp32)",
      "host",
    )
    .option("--qemu <path>", "qemu-system-riscv32/-xtensa to use (default: PATH, then ~/.espressif/tools)")
    .option("--flash <file>", "flash image file (created erased if missing)")
    .option("--flash-size <size>", "flash size, e.g. 4MB (default: the target's dev kit)")
    .option("--listen <host:port>", "RFC 2217 server address", "127.0.0.1:4000")
    .option("--pty", "also expose the console on a pseudo-terminal (no reset lines)")
    .option("--baud-pacing", "deliver bytes at the set baud rate (baud/10 bytes per second)")
    .option(
      "--wdt-ms <ms>",
      "host engine: task watchdog timeout of the firmware (default 5000, as on the chip; qemu: rsagen build --task-wdt)",
    )
    .option("--usb-serial-jtag", "decode DTR/RTS like the native USB-Serial-JTAG port (s3, c3, c6)")
    .option(
      "--fault <name=value>",
      "inject a fault (repeatable; knobs listed below)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .addHelpText(
      "after",
      `\nFault knobs (--fault name=value, host engine):\n${faultKnobsHelp()}\n\nExamples:
  rsagen sim --listen 127.0.0.1:0 --fault noise=1e-4 --fault bitflip=1e-5 --fault reset-after-rx=5000
  rsagen sim --engine qemu --target esp32c3 --flash qemu-flash.bin   (then: rsagen flash --no-stub)`,
    )
    .action(async (opts: SimRawOptions, cmd: Command) => (await import("./actions/sim.js")).run(opts, cmd));
}
