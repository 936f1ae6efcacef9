/** Independent verification of keys the firmware produced: node:crypto and the openssl CLI. */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";

export function verifyRsaKeyPair(privDer: Buffer, pubDer: Buffer, bits: number): void {
  const priv = createPrivateKey({ key: privDer, format: "der", type: "pkcs1" });
  const pub = createPublicKey({ key: pubDer, format: "der", type: "spki" });
  expect(priv.asymmetricKeyType).toBe("rsa");
  expect(priv.asymmetricKeyDetails?.modulusLength).toBe(bits);
  expect(priv.asymmetricKeyDetails?.publicExponent).toBe(65537n);
  // The private key's public half is exactly the public key the firmware wrote.
  expect(createPublicKey(priv).export({ format: "der", type: "spki" }).equals(pubDer)).toBe(true);
  const msg = Buffer.from("rsagen firmware key check");
  const sig = sign("sha256", msg, priv);
  expect(verify("sha256", msg, pub, sig)).toBe(true);
  expect(verify("sha256", Buffer.from("tampered"), pub, sig)).toBe(false);

  const dir = mkdtempSync(join(tmpdir(), "rsagen-key-"));
  try {
    writeFileSync(join(dir, "k.der"), privDer, { mode: 0o600 });
    const out = execFileSync(
      "openssl",
      ["pkey", "-inform", "DER", "-in", join(dir, "k.der"), "-check", "-noout"],
      {
        encoding: "utf8",
      },
    );
    expect(out).toContain("Key is valid");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
