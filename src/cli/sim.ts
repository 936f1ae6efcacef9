import type { Command } from "commander";
import { z } from "zod";
import { faultKnobsHelp, parseFaultSpecs } from "../sim/fault-spec.js";
import { parseFlashSize } from "../sim/flash.js";
import { contextFor } from "./context.js";
import { hostPortSchema, parseOption, targetSchema } from "./options.js";

/** The host firmware accepts 1..600000 ms (firmware/host/host_main.c); below 10 ms it cannot run. */
const wdtMsSchema = z
  .string()
  .regex(/^\d+$/, "give the timeout in whole milliseconds")
  .transform(Number)
  .pipe(z.number().min(10, "must be 10..600000 ms").max(600_000, "must be 10..600000 ms"));

const listenSchema = hostPortSchema.refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535, {
  error: "port must be 0..65535 (0 picks a free one)",
});

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
    .option("--wdt-ms <ms>", "task watchdog timeout of the firmware (default 5000, as on the chip)")
    .option("--usb-serial-jtag", "decode DTR/RTS like the native USB-Serial-JTAG port (s3, c3, c6)")
    .option(
      "--fault <name=value>",
      "inject a fault (repeatable; knobs listed below)",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    )
    .addHelpText(
      "after",
      `\nFault knobs (--fault name=value):\n${faultKnobsHelp()}\n\nExample: rsagen sim --listen 127.0.0.1:0 --fault noise=1e-4 --fault bitflip=1e-5 --fault reset-after-rx=5000`,
    )
    .action(async (raw: SimRawOptions, cmd: Command) => {
      const { out } = contextFor(cmd);
      const target = parseOption(targetSchema, raw.target, "--target");
      const listen = parseOption(listenSchema, raw.listen, "--listen", "e.g. --listen 127.0.0.1:4000");
      const sep = listen.lastIndexOf(":");
      const wdtMs =
        raw.wdtMs === undefined
          ? undefined
          : parseOption(wdtMsSchema, raw.wdtMs, "--wdt-ms", "e.g. --wdt-ms 5000 (the chip's default)");
      const faultSpecs = raw.fault ?? [];
      const faults = parseFaultSpecs(faultSpecs);
      // Loaded here, not at the top: every other command would pay for the board code at start-up.
      const { startBoard } = await import("../sim/index.js");
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
        ...(faultSpecs.length > 0 ? { faults } : {}),
      });
      board.on("state", (state, detail) => out.debug(`chip: ${state}${detail ? ` (${detail})` : ""}`));
      out.event("listening", { url: board.url, pty: board.ptyPath ?? null, target, faults }, () =>
        [
          `virtual ${board.target.displayName} on ${board.url}`,
          board.ptyPath ? `console pty: ${board.ptyPath}` : "",
          faultSpecs.length > 0 ? `faults: ${faultSpecs.join(" ")}` : "",
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
