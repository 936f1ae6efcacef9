/**
 * `rsagen monitor`: the declaration (options and help). The work runs in ./actions/monitor.ts,
 * loaded only when the command runs (see docs/architecture.md, "Adding a command").
 */
import type { Command } from "commander";

export interface MonitorOptions {
  raw?: boolean;
  reset: boolean;
}

export function registerMonitor(program: Command): void {
  program
    .command("monitor")
    .description("show the board's console, with protocol frames shown compactly (Ctrl-] or Ctrl-C exits)")
    .option("--raw", "show protocol frames as raw bytes")
    .option("--no-reset", "attach without resetting the board")
    .action(async (opts: MonitorOptions, cmd: Command) =>
      (await import("./actions/monitor.js")).run(opts, cmd),
    );
}
