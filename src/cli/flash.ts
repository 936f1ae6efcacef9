import type { Command } from "commander";
import { z } from "zod";
import { contextFor } from "./context.js";
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

const hex = (n: number) => `0x${n.toString(16)}`;
const hex4 = (n: number) => n.toString(16).padStart(4, "0");

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
    .action(async (raw: FlashOptions, cmd: Command) => {
      const { settings, out } = contextFor(cmd);
      const target = raw.target !== undefined ? parseOption(targetSchema, raw.target, "--target") : undefined;
      const before = parseOption(
        beforeSchema,
        raw.before,
        "--before",
        "use default-reset, usb-reset or no-reset",
      );
      const after = parseOption(afterSchema, raw.after, "--after", "use hard-reset or no-reset");
      const { runFlash } = await import("../flash/run.js");
      const r = await runFlash({
        port: settings.port,
        target,
        buildDir: raw.buildDir,
        manifest: raw.manifest,
        configBuildDir: settings.config.buildDir,
        cwd: process.cwd(),
        before,
        after,
        stub: raw.stub,
        skip: raw.skip,
        eraseAll: Boolean(raw.eraseAll),
        force: Boolean(raw.force),
        baud: settings.baud,
        onEvent: (e) => {
          if (e.event === "progress") {
            if (out.json) out.event(e.event, { ...e });
            else
              out.progress(`${e.name} ${e.percent}% (${e.written}/${e.total} bytes, ${e.kbitPerSec} kbit/s)`);
            return;
          }
          if (e.event === "warning") return out.warn(e.message);
          out.event(e.event, { ...e }, () => {
            switch (e.event) {
              case "port": {
                const usb = e.usb ? ` (USB ${hex4(e.usb.vid)}:${hex4(e.usb.pid)})` : "";
                return e.how === "detected" ? `detected the board on ${e.path}${usb}` : undefined;
              }
              case "connected":
                return `connected to ${e.chip} on ${e.port} (${e.reset})`;
              case "loader":
                return `using the ${e.loader === "stub" ? "flasher stub" : "ROM loader"} at ${e.baud} baud`;
              case "region-skip":
                return `${e.name} at ${hex(e.offset)}: unchanged (MD5 ${e.md5}), skipped`;
              case "region-done":
                return `${e.name} at ${hex(e.offset)}: ${e.size} bytes in ${e.seconds.toFixed(2)} s (${e.kbitPerSec} kbit/s), MD5 verified`;
              case "reset":
                return `reset: ${e.how}`;
              default:
                return undefined;
            }
          });
        },
      });
      out.result({ ...r }, () => {
        const written = r.regions.filter((x) => !x.skipped).length;
        return `flashed ${r.chip} from ${r.buildDir}: ${written} written, ${r.regions.length - written} unchanged, all MD5-verified (${r.seconds.toFixed(1)} s)`;
      });
    });
}
