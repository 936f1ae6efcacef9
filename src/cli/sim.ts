import type { Command } from "commander";
import { contextFor } from "./context.js";
import { notImplemented } from "./not-implemented.js";
import { hostPortSchema, parseOption, targetSchema } from "./options.js";

export interface SimRawOptions {
  target: string;
  flash: string | undefined;
  flashSize: string | undefined;
  listen: string;
  pty: boolean;
  baudPacing: boolean;
  wdtMs: string | undefined;
}

export function registerSim(program: Command): void {
  program
    .command("sim")
    .description("run a virtual ESP32-family board (ROM download mode, SPI flash, boot, firmware)")
    .option("-t, --target <target>", "chip to emulate", "esp32c3")
    .option("--flash <file>", "flash image file (created erased if missing)")
    .option("--flash-size <size>", "flash size, e.g. 4MB (default: the target's dev kit)")
    .option("--listen <host:port>", "RFC 2217 server address", "127.0.0.1:4000")
    .option("--pty", "also expose the console on a pseudo-terminal (no reset lines)")
    .option("--baud-pacing", "deliver bytes at the set baud rate (baud/10 bytes per second)")
    .option("--wdt-ms <ms>", "task watchdog timeout of the firmware on the host")
    .action(async (raw: SimRawOptions, cmd: Command) => {
      contextFor(cmd);
      parseOption(targetSchema, raw.target, "--target");
      parseOption(hostPortSchema, raw.listen, "--listen");
      notImplemented("rsagen sim");
    });
}
