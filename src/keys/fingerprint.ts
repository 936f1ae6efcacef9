import { createHash } from "node:crypto";

export interface Fingerprint {
  /** `SHA256:<base64 without padding>`, the form ssh-keygen -l prints. */
  sha256: string;
  /** Lower-case hex of the same digest. */
  sha256Hex: string;
}

/** Fingerprint over the SubjectPublicKeyInfo DER (as `openssl pkey -pubin -outform DER | sha256sum`). */
export function spkiFingerprint(spkiDer: Uint8Array): Fingerprint {
  const digest = createHash("sha256").update(spkiDer).digest();
  return {
    sha256: `SHA256:${digest.toString("base64").replace(/=+$/, "")}`,
    sha256Hex: digest.toString("hex"),
  };
}
