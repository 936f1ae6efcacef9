import type { Command } from "commander";
import { contextFor } from "./context.js";
import { notImplemented } from "./not-implemented.js";

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("ask the running firmware for its version, target, features and free heap")
    .action(async (_raw: unknown, cmd: Command) => {
      contextFor(cmd);
      notImplemented("rsagen info");
    });
}
