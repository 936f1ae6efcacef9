/**
 * `rsagen sign`: the declaration. The work runs in ./actions/sign.ts, loaded only when the command
 * runs (docs/architecture.md, "Adding a command").
 */
import type { Command } from "commander";

export interface SignOptions {
  slot: string | undefined;
  scheme: string | undefined;
  out: string | undefined;
  force: boolean;
  timeout: string | undefined;
}

export function registerSign(program: Command): void {
  program
    .command("sign <file>")
    .description(
      "sign a file's SHA-256 with a slot's key on the board, verify the signature with node:crypto and write it",
    )
    .option("--slot <name>", "the key slot (default: device)")
    .option("--scheme <s>", "pss (RSASSA-PSS, MGF1-SHA-256, salt 32) or pkcs1 (PKCS#1 v1.5) (default: pss)")
    .option("-o, --out <file>", "signature file, raw bytes (default: <file>.sig)")
    .option("--force", "overwrite the signature file")
    .option("--timeout <t>", "give up (and cancel on the device) after this long (default: 2m)")
    .action(async (file: string, opts: SignOptions, cmd: Command) =>
      (await import("./actions/sign.js")).run(file, opts, cmd),
    );
}
