import type { Command } from "commander";
import { parseFlashSize } from "../sim/flash.js";
import { startBoard } from "../sim/index.js";
import { contextFor } from "./context.js";
import { hostPortSchema, parseOption, targetSchema } from "./options.js";

export interface SimRawOptions {
  target: string;
  flash: string | undefined;
  flashSize: string | undefined;
  listen: string;
  pty: boolean;
  baudPacing: boolean;
  wdtMs: string | undefined;
  usbSerialJtag: boolean;
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
    .option("--usb-serial-jtag", "decode DTR/RTS like the native USB-Serial-JTAG port (s3, c3, c6)")
    .action(async (raw: SimRawOptions, cmd: Command) => {
      const { out } = contextFor(cmd);
      const target = parseOption(targetSchema, raw.target, "--target");
      const listen = parseOption(hostPortSchema, raw.listen, "--listen");
      const sep = listen.lastIndexOf(":");
      const wdtMs = raw.wdtMs === undefined ? undefined : Number(raw.wdtMs);
      if (wdtMs !== undefined && (!Number.isInteger(wdtMs) || wdtMs < 10)) {
        parseOption(hostPortSchema, "", "--wdt-ms", "give the timeout in milliseconds, e.g. --wdt-ms 5000");
      }
      const board = await startBoard({
        target,
        flashFile: raw.flash,
        flashSize: raw.flashSize ? parseFlashSize(raw.flashSize) : undefined,
        host: listen.slice(0, sep),
        port: Number(listen.slice(sep + 1)),
        pty: Boolean(raw.pty),
        pacing: Boolean(raw.baudPacing),
        wdtMs,
        resetCircuit: raw.usbSerialJtag ? "usb-serial-jtag" : "auto-reset",
      });
      board.on("state", (state, detail) => out.debug(`chip: ${state}${detail ? ` (${detail})` : ""}`));
      out.event("listening", { url: board.url, pty: board.ptyPath ?? null, target }, () =>
        [
          `virtual ${board.target.displayName} on ${board.url}`,
          board.ptyPath ? `console pty: ${board.ptyPath}` : "",
        ]
          .filter(Boolean)
          .join("\n"),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await board.close();
      out.result({ stopped: true }, () => "virtual board stopped");
    });
}
