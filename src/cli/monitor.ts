import type { Command } from "commander";
import { contextFor } from "./context.js";
import { notImplemented } from "./not-implemented.js";

export function registerMonitor(program: Command): void {
  program
    .command("monitor")
    .description("show the board's console, with protocol frames shown compactly (Ctrl-] or Ctrl-C exits)")
    .option("--raw", "show protocol frames as raw bytes")
    .option("--no-reset", "attach without resetting the board")
    .action(async (_raw: unknown, cmd: Command) => {
      contextFor(cmd);
      notImplemented("rsagen monitor");
    });
}
