/**
 * `rsagen slot list|show|delete`: the declaration. The work runs in ./actions/slot.ts, loaded only
 * when a subcommand runs (docs/architecture.md, "Adding a command").
 */
import type { Command } from "commander";

export interface SlotShowOptions {
  out: string | undefined;
  format: string | undefined;
  force: boolean;
}

export function registerSlot(program: Command): void {
  const slot = program
    .command("slot")
    .description("list, show or delete the key slots on the board (private keys kept by keygen --keep)");
  slot
    .command("list")
    .description("the board's key slots: name, key size, fingerprint-free summary and free space")
    .action(async (opts: Record<string, never>, cmd: Command) =>
      (await import("./actions/slot.js")).list(opts, cmd),
    );
  slot
    .command("show <name>")
    .description("a slot's public key (PEM on stdout), its size and SHA-256 fingerprint")
    .option("-o, --out <file>", "also write the public key to this file")
    .option("--format <f>", "with --out: pem or der (default: pem)")
    .option("--force", "with --out: overwrite the file")
    .action(async (name: string, opts: SlotShowOptions, cmd: Command) =>
      (await import("./actions/slot.js")).show(name, opts, cmd),
    );
  slot
    .command("delete <name>")
    .description("zeroize and erase a slot's key on the board (docs/key-slots.md says what that guarantees)")
    .action(async (name: string, opts: Record<string, never>, cmd: Command) =>
      (await import("./actions/slot.js")).remove(name, opts, cmd),
    );
}
