/** The bytes of each output file, in the encodings the CLI offers. */
import { pemEncode } from "./pem.js";
import type { VerifiedKeyPair } from "./verify.js";
import { zeroize } from "./zeroize.js";

export type KeyFileFormat = "pem" | "der";
export type PrivateKeyEncoding = "pkcs1" | "pkcs8";

export interface EncodeOptions {
  format: KeyFileFormat;
  private: PrivateKeyEncoding;
}

/** Private key bytes; the caller zeroizes the result after writing. */
export function encodePrivate(pair: VerifiedKeyPair, opts: EncodeOptions): Buffer {
  const der = pair.privateKey.export({ type: opts.private, format: "der" });
  if (opts.format === "der") return der;
  try {
    return pemEncode(opts.private === "pkcs1" ? "RSA PRIVATE KEY" : "PRIVATE KEY", der);
  } finally {
    zeroize(der);
  }
}

/** Public key as SubjectPublicKeyInfo (the form `openssl pkey -pubout` writes). */
export function encodePublic(pair: VerifiedKeyPair, opts: Pick<EncodeOptions, "format">): Buffer {
  return opts.format === "der" ? Buffer.from(pair.spkiDer) : pemEncode("PUBLIC KEY", pair.spkiDer);
}
