/**
 * `rsagen info`: the declaration (options and help). The work runs in ./actions/info.ts, loaded
 * only when the command runs (see docs/architecture.md, "Adding a command").
 */
import type { Command } from "commander";

export interface InfoOptions {
  reset?: boolean;
}

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("ask the running firmware for its version, target, features and free heap")
    .option("--reset", "reset the board first (also clears a key job left behind)")
    .action(async (opts: InfoOptions, cmd: Command) => (await import("./actions/info.js")).run(opts, cmd));
}
