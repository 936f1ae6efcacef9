import type { Command } from "commander";
import { z } from "zod";
import { contextFor } from "./context.js";
import { notImplemented } from "./not-implemented.js";
import { parseOption, targetSchema } from "./options.js";

export const beforeSchema = z.enum(["default-reset", "usb-reset", "no-reset"]);
export const afterSchema = z.enum(["hard-reset", "no-reset"]);

export interface FlashOptions {
  target: string | undefined;
  buildDir: string | undefined;
  manifest: string | undefined;
  before: string;
  after: string;
  stub: boolean;
  skip: boolean;
  eraseAll: boolean;
  force: boolean;
}

export function registerFlash(program: Command): void {
  program
    .command("flash")
    .description("write the built images to a board (esptool-js over a serial port or RFC 2217)")
    .option("-t, --target <target>", "which build to flash (default: the only or most recent one)")
    .option("--build-dir <dir>", "build folder holding flasher_args.json")
    .option("--manifest <file>", "flasher_args.json to flash from")
    .option("--before <how>", "reset into download mode: default-reset, usb-reset, no-reset", "default-reset")
    .option("--after <how>", "after flashing: hard-reset or no-reset", "hard-reset")
    .option("--no-stub", "flash through the ROM loader only (Secure Download Mode, emulators)")
    .option("--no-skip", "write every region even if its MD5 already matches")
    .option("--erase-all", "erase the whole flash first")
    .option("--force", "flash even if the chip does not match the build's target")
    .action(async (raw: FlashOptions, cmd: Command) => {
      contextFor(cmd);
      if (raw.target !== undefined) parseOption(targetSchema, raw.target, "--target");
      parseOption(beforeSchema, raw.before, "--before", "use default-reset, usb-reset or no-reset");
      parseOption(afterSchema, raw.after, "--after", "use hard-reset or no-reset");
      notImplemented("rsagen flash");
    });
}
