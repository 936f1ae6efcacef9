/** Key pairs from two independent generators (node:crypto and the openssl CLI), as the board sends them. */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DerPair {
  privateDer: Buffer;
  publicDer: Buffer;
  bits: number;
  exponent: number;
}

export function nodePair(bits: number, exponent = 65537): DerPair {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: bits,
    publicExponent: exponent,
  });
  return {
    privateDer: privateKey.export({ type: "pkcs1", format: "der" }),
    publicDer: publicKey.export({ type: "spki", format: "der" }),
    bits,
    exponent,
  };
}

export function opensslPair(bits: number, exponent = 65537): DerPair {
  const dir = mkdtempSync(join(tmpdir(), "rsagen-openssl-"));
  try {
    const key = join(dir, "k.pem");
    execFileSync(
      "openssl",
      [
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        `rsa_keygen_bits:${bits}`,
        "-pkeyopt",
        `rsa_keygen_pubexp:${exponent}`,
        "-out",
        key,
      ],
      { stdio: "pipe" },
    );
    execFileSync(
      "openssl",
      ["rsa", "-in", key, "-outform", "DER", "-traditional", "-out", join(dir, "priv.der")],
      { stdio: "pipe" },
    );
    execFileSync(
      "openssl",
      ["pkey", "-in", key, "-pubout", "-outform", "DER", "-out", join(dir, "pub.der")],
      { stdio: "pipe" },
    );
    return {
      privateDer: readFileSync(join(dir, "priv.der")),
      publicDer: readFileSync(join(dir, "pub.der")),
      bits,
      exponent,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `openssl pkey -check` (or -pubcheck) on a file; returns its combined output, throws on failure. */
export function opensslCheck(file: string, opts: { pub?: boolean; der?: boolean } = {}): string {
  const args = ["pkey", "-in", file, "-noout"];
  if (opts.der) args.push("-inform", "DER");
  if (opts.pub) args.push("-pubin", "-pubcheck");
  else args.push("-check");
  return execFileSync("openssl", args, { stdio: "pipe", encoding: "utf8" });
}
