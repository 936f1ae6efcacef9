/**
 * Turns the DER the board sent (PKCS#1 RSAPrivateKey, SubjectPublicKeyInfo) into node:crypto
 * KeyObjects and proves the pair is what was asked for before anything is written.
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify as verifySignature,
} from "node:crypto";
import { RsagenError } from "../errors.js";
import { checkRsaNumbers, parsePkcs1Private } from "./der.js";
import { type Fingerprint, spkiFingerprint } from "./fingerprint.js";

export interface KeyRequest {
  bits: number;
  exponent: number;
}

export interface VerifiedKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  bits: number;
  exponent: number;
  fingerprint: Fingerprint;
  /** Canonical SPKI DER of the public key (equal to what the board sent). */
  spkiDer: Buffer;
}

function fail(message: string, cause?: unknown): RsagenError {
  return new RsagenError(
    "E_KEY_VERIFY_FAILED",
    message,
    "nothing was written; run keygen again, and if it repeats, reflash the firmware",
    cause === undefined ? undefined : { cause },
  );
}

function importPrivate(der: Uint8Array): KeyObject {
  try {
    return createPrivateKey({
      key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
      format: "der",
      type: "pkcs1",
    });
  } catch (err) {
    throw fail(`private key is not a valid PKCS#1 RSA key: ${(err as Error).message}`, err);
  }
}

function importPublic(der: Uint8Array): KeyObject {
  try {
    return createPublicKey({
      key: Buffer.from(der.buffer, der.byteOffset, der.byteLength),
      format: "der",
      type: "spki",
    });
  } catch (err) {
    throw fail(`public key is not a valid SubjectPublicKeyInfo: ${(err as Error).message}`, err);
  }
}

/** The checks, in order; each throws E_KEY_VERIFY_FAILED with what was wrong. */
export function verifyKeyPair(
  privateDer: Uint8Array,
  publicDer: Uint8Array,
  want: KeyRequest,
): VerifiedKeyPair {
  const privateKey = importPrivate(privateDer);
  const publicKey = importPublic(publicDer);
  if (privateKey.asymmetricKeyType !== "rsa" || publicKey.asymmetricKeyType !== "rsa") {
    throw fail(`expected RSA keys, got ${privateKey.asymmetricKeyType}/${publicKey.asymmetricKeyType}`);
  }

  // Structure: every CRT number consistent with n, e and d (RFC 8017 section 3.2).
  const numbers = parsePkcs1Private(privateDer);
  const broken = checkRsaNumbers(numbers);
  if (broken) throw fail(`private key numbers are inconsistent: ${broken}`);

  const details = publicKey.asymmetricKeyDetails;
  const bits = details?.modulusLength;
  if (bits !== want.bits) throw fail(`modulus is ${bits} bits, requested ${want.bits}`);
  const e = details?.publicExponent;
  if (e !== BigInt(want.exponent)) throw fail(`public exponent is ${e}, requested ${want.exponent}`);

  // The private key's public half must be exactly the public key the board sent, byte for byte.
  const derived = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  const spkiDer = Buffer.from(publicDer);
  if (!derived.equals(spkiDer)) throw fail("the private key does not belong to the public key");

  // Round trip: sign with the private key, verify with the separately imported public key; and make
  // sure a different message is rejected so a verifier that accepts everything cannot pass.
  const message = randomBytes(64);
  const signature = sign("sha256", message, privateKey);
  if (!verifySignature("sha256", message, publicKey, signature)) throw fail("sign/verify round trip failed");
  message[0] = message[0]! ^ 0xff;
  if (verifySignature("sha256", message, publicKey, signature)) {
    throw fail("the public key accepted a signature over a different message");
  }

  return {
    privateKey,
    publicKey,
    bits,
    exponent: want.exponent,
    fingerprint: spkiFingerprint(spkiDer),
    spkiDer,
  };
}
