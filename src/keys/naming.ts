/**
 * Where the key files go. `--out DIR` picks the folder, `--prefix NAME` the base name (it may carry
 * a path of its own, resolved against --out); the default base name rsa-<bits>-<8 hex of the SPKI
 * fingerprint> keeps keys from several boards apart without any flag.
 */
import { basename, resolve } from "node:path";
import { RsagenError } from "../errors.js";
import type { KeyFileFormat } from "./encode.js";

export interface KeyFilePaths {
  privatePath: string;
  publicPath: string;
}

export interface NamingInput {
  out: string;
  prefix: string | undefined;
  bits: number;
  fingerprintHex: string;
  format: KeyFileFormat;
  cwd?: string;
}

export function defaultPrefix(bits: number, fingerprintHex: string): string {
  return `rsa-${bits}-${fingerprintHex.slice(0, 8)}`;
}

export function keyFilePaths(input: NamingInput): KeyFilePaths {
  const prefix = input.prefix ?? defaultPrefix(input.bits, input.fingerprintHex);
  if (prefix.length === 0 || prefix.includes("\0") || /[/\\]$/.test(prefix) || basename(prefix) === "..") {
    throw new RsagenError(
      "E_USAGE",
      `--prefix: '${prefix}' is not a usable file name prefix`,
      "give a name such as --prefix board1 (use --out for the folder)",
    );
  }
  const base = resolve(input.cwd ?? process.cwd(), input.out, prefix);
  return { privatePath: `${base}.key.${input.format}`, publicPath: `${base}.pub.${input.format}` };
}
