/** What every command action receives: resolved settings and an output sink. */
import type { Command } from "commander";
import { type GlobalOptions, resolveSettings, type Settings } from "./config.js";
import { createOutput, type Output } from "./output.js";

export interface CommandContext {
  settings: Settings;
  out: Output;
}

export function contextFor(cmd: Command): CommandContext {
  const globals = cmd.optsWithGlobals() as GlobalOptions;
  // Build the output first so that a bad config file still gets reported in the right format.
  const out = createOutput({
    json: Boolean(globals.json),
    verbose: Boolean(globals.verbose),
    quiet: Boolean(globals.quiet),
  });
  const settings = resolveSettings(globals);
  return { settings, out };
}
