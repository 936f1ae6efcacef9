/**
 * `rsagen flash`: the declaration (options and help). The work runs in ./actions/flash.ts, loaded
 * only when the command runs (see docs/architecture.md, "Adding a command").
 */
import type { Command } from "commander";

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
    .summary("write the built images to a board (serial port or RFC 2217)")
    .description(
      "write the built images to a board through its serial loader (flasher stub started by esptool-js, or the ROM loader with --no-stub) over a serial port or rfc2217://host:port; without --port, ESPPORT or a configured port, the one board on a known USB bridge (VID/PID) is used",
    )
    .option("-t, --target <target>", "which build to flash (default: the only or most recent one)")
    .option("--build-dir <dir>", "build folder holding flasher_args.json")
    .option("--manifest <file>", "flasher_args.json to flash from")
    .option("--before <how>", "reset into download mode: default-reset, usb-reset, no-reset", "default-reset")
    .option("--after <how>", "after flashing: hard-reset or no-reset", "hard-reset")
    .option("--no-stub", "flash through the ROM loader only (Secure Download Mode, emulators)")
    .option("--no-skip", "write every region even if its MD5 already matches")
    .option("--erase-all", "erase the whole flash first")
    .option("--force", "flash even if the chip does not match the build's target")
    .action(async (opts: FlashOptions, cmd: Command) => (await import("./actions/flash.js")).run(opts, cmd));
}
