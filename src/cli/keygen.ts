/**
 * `rsagen keygen`: the declaration (options and help). The work runs in ./actions/keygen.ts, loaded
 * only when the command runs (see docs/architecture.md, "Adding a command").
 */
import type { Command } from "commander";

export interface KeygenRawOptions {
  bits: string | undefined;
  exponent: string | undefined;
  timeout: string | undefined;
  out: string | undefined;
  prefix: string | undefined;
  format: string | undefined;
  private: string;
  publicOnly: boolean;
  force: boolean;
  all: boolean;
  keep: boolean;
  slot: string | undefined;
}

export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description("generate an RSA key pair on the board, read it back, verify it and write key files")
    .option("--bits <n>", "modulus size, 1024..4096, a multiple of 8 (default: 2048)")
    .option("--exponent <e>", "public exponent (default: 65537)")
    .option(
      "--timeout <t>",
      "give up (and cancel on the device) after this long, e.g. 90s or 5m (default: 10m)",
    )
    .option("-o, --out <dir>", "folder for the key files (default: .)")
    .option("--prefix <name>", "file name prefix (default: rsa-<bits>-<fingerprint>)")
    .option("--format <f>", "pem or der (default: pem)")
    .option("--private <f>", "private key encoding: pkcs1 or pkcs8", "pkcs8")
    .option("--public-only", "write only the public key (the private key is still zeroized on the device)")
    .option("--force", "overwrite existing key files (with --keep: also replace the slot's key)")
    .option(
      "--keep",
      "keep the private key on the board in a key slot; only the public key is read back and written",
    )
    .option("--slot <name>", "with --keep: the slot's name, 1..31 of A-Z a-z 0-9 . _ - (default: device)")
    .option("--all", "run on every detected board in parallel (or repeat the global -p/--port)")
    .action(async (opts: KeygenRawOptions, cmd: Command) =>
      (await import("./actions/keygen.js")).run(opts, cmd),
    );
}
