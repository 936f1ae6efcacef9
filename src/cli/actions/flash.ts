/** `rsagen flash` at run time: validates the options, runs src/flash and renders its events. */
import type { Command } from "commander";
import { z } from "zod";
import { contextFor } from "../context.js";
import type { FlashOptions } from "../flash.js";
import { parseOption, targetSchema } from "../options.js";

export const beforeSchema = z.enum(["default-reset", "usb-reset", "no-reset"]);
export const afterSchema = z.enum(["hard-reset", "no-reset"]);

const hex = (n: number) => `0x${n.toString(16)}`;
const hex4 = (n: number) => n.toString(16).padStart(4, "0");

export async function run(raw: FlashOptions, cmd: Command): Promise<void> {
  const { settings, out } = contextFor(cmd);
  const target = raw.target !== undefined ? parseOption(targetSchema, raw.target, "--target") : undefined;
  const before = parseOption(
    beforeSchema,
    raw.before,
    "--before",
    "use default-reset, usb-reset or no-reset",
  );
  const after = parseOption(afterSchema, raw.after, "--after", "use hard-reset or no-reset");
  const { runFlash } = await import("../../flash/run.js");
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
        else out.progress(`${e.name} ${e.percent}% (${e.written}/${e.total} bytes, ${e.kbitPerSec} kbit/s)`);
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
}
