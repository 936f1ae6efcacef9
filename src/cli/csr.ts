/**
 * `rsagen csr`: the declaration. The work runs in ./actions/csr.ts, loaded only when the command
 * runs (docs/architecture.md, "Adding a command").
 */
import type { Command } from "commander";

export interface CsrOptions {
  slot: string | undefined;
  subject: string | undefined;
  san: string[];
  out: string | undefined;
  format: string | undefined;
  force: boolean;
  timeout: string | undefined;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerCsr(program: Command): void {
  program
    .command("csr")
    .description(
      "have the board build a PKCS#10 certificate signing request signed by a slot's key (SHA-256), verify it and write it",
    )
    .option("--slot <name>", "the key slot (default: device)")
    .option("--subject <dn>", 'subject, e.g. "CN=device-42,O=Example Ltd,C=DE" (required)')
    .option(
      "--san <name>",
      "subjectAltName, repeatable: dns:NAME, ip:ADDR, email:ADDR or uri:URI (a bare value is a DNS name)",
      collect,
      [] as string[],
    )
    .option("-o, --out <file>", "output file (default: <slot>.csr.pem, or .csr.der with --format der)")
    .option("--format <f>", "pem or der (default: pem)")
    .option("--force", "overwrite the output file")
    .option("--timeout <t>", "give up (and cancel on the device) after this long (default: 2m)")
    .action(async (opts: CsrOptions, cmd: Command) => (await import("./actions/csr.js")).run(opts, cmd));
}
