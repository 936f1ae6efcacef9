import type { Command } from "commander";
import { z } from "zod";
import { contextFor } from "./context.js";
import { notImplemented } from "./not-implemented.js";
import { bitsSchema, exponentSchema, parseOption, timeoutSchema } from "./options.js";

export const formatSchema = z.enum(["pem", "der"]);
export const privateFormatSchema = z.enum(["pkcs1", "pkcs8"]);

export interface KeygenRawOptions {
  bits: string;
  exponent: string;
  timeout: string;
  out: string | undefined;
  prefix: string | undefined;
  format: string;
  private: string;
  publicOnly: boolean;
  force: boolean;
  all: boolean;
}

export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description("generate an RSA key pair on the board, read it back, verify it and write key files")
    .option("--bits <n>", "modulus size, 1024..4096, a multiple of 8", "2048")
    .option("--exponent <e>", "public exponent", "65537")
    .option("--timeout <t>", "give up (and cancel on the device) after this long, e.g. 90s or 5m", "10m")
    .option("-o, --out <dir>", "folder for the key files", ".")
    .option("--prefix <name>", "file name prefix (default: rsa-<bits>-<fingerprint>)")
    .option("--format <f>", "pem or der", "pem")
    .option("--private <f>", "private key encoding: pkcs1 or pkcs8", "pkcs8")
    .option("--public-only", "write only the public key (the private key is still zeroized on the device)")
    .option("--force", "overwrite existing key files")
    .option("--all", "run on every detected board in parallel")
    .action(async (raw: KeygenRawOptions, cmd: Command) => {
      contextFor(cmd);
      parseOption(bitsSchema, raw.bits, "--bits");
      parseOption(exponentSchema, raw.exponent, "--exponent");
      parseOption(timeoutSchema, raw.timeout, "--timeout", "e.g. --timeout 90s");
      parseOption(formatSchema, raw.format, "--format", "use pem or der");
      parseOption(privateFormatSchema, raw.private, "--private", "use pkcs1 or pkcs8");
      notImplemented("rsagen keygen");
    });
}
