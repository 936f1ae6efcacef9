/**
 * Checks of what a board's slot key produced, before anything is written: the public key, a
 * PKCS#10 CSR (RFC 2986: its signature by that key, its key equal to the slot's), and a signature
 * (RFC 8017: RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt, or RSASSA-PKCS1-v1_5).
 */
import { constants, createPublicKey, type KeyObject, verify } from "node:crypto";
import type { SignScheme } from "../device/messages.js";
import { RsagenError } from "../errors.js";
import { type Fingerprint, spkiFingerprint } from "../keys/fingerprint.js";

export interface SlotPublicKey {
  key: KeyObject;
  spkiDer: Buffer;
  bits: number;
  exponent: bigint;
  fingerprint: Fingerprint;
}

function invalid(message: string, cause?: unknown): RsagenError {
  return new RsagenError(
    "E_SIGNATURE_INVALID",
    message,
    "nothing was written; try again, and if it repeats, check the firmware (rsagen monitor)",
    cause === undefined ? undefined : { cause },
  );
}

/** Imports an RSA SubjectPublicKeyInfo and checks it against what the board says about it. */
export function slotPublicKey(
  spki: Uint8Array,
  want: { bits?: number; exponent?: number } = {},
): SlotPublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: "der", type: "spki" });
  } catch (err) {
    throw new RsagenError(
      "E_KEY_VERIFY_FAILED",
      `the slot's public key is not a valid SubjectPublicKeyInfo: ${(err as Error).message}`,
      "the key partition may be damaged: delete the slot and keep a new key",
      { cause: err },
    );
  }
  const d = key.asymmetricKeyDetails;
  const bad = (why: string) =>
    new RsagenError("E_KEY_VERIFY_FAILED", `the slot's public key ${why}`, "nothing was written");
  if (key.asymmetricKeyType !== "rsa" || d?.modulusLength === undefined || d.publicExponent === undefined)
    throw bad(`is ${key.asymmetricKeyType}, not RSA`);
  if (want.bits !== undefined && d.modulusLength !== want.bits)
    throw bad(`has ${d.modulusLength} bits, expected ${want.bits}`);
  if (want.exponent !== undefined && d.publicExponent !== BigInt(want.exponent))
    throw bad(`has exponent ${d.publicExponent}, expected ${want.exponent}`);
  const spkiDer = key.export({ type: "spki", format: "der" });
  if (!spkiDer.equals(Buffer.from(spki))) throw bad("is not in canonical DER");
  return {
    key,
    spkiDer,
    bits: d.modulusLength,
    exponent: d.publicExponent,
    fingerprint: spkiFingerprint(spkiDer),
  };
}

// ---- DER walking (definite, minimal lengths only) ----------------------------------------------

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  at: number;
  start: number;
  end: number;
}

function tlv(buf: Uint8Array, off: number, limit: number): Tlv {
  if (off + 2 > limit) throw invalid(`CSR DER is truncated at offset ${off}`);
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || p + n > limit) throw invalid(`CSR DER has a bad length at offset ${off}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    if (buf[p] === 0 || len < 0x80) throw invalid(`CSR DER has a non-minimal length at offset ${off}`);
    p += n;
  }
  if (p + len > limit) throw invalid(`CSR DER runs past its end at offset ${off}`);
  return { tag, at: off, start: p, end: p + len };
}

/** sha256WithRSAEncryption, 1.2.840.113549.1.1.11 (RFC 8017 A.2.4). */
const SHA256_WITH_RSA = Buffer.from("06092a864886f70d01010b", "hex");

export interface CheckedCsr {
  der: Buffer;
  /** The CSR's SubjectPublicKeyInfo (equal to the slot's). */
  spkiDer: Buffer;
}

/**
 * Parses CertificationRequest ::= SEQUENCE { certificationRequestInfo, signatureAlgorithm,
 * signature BIT STRING } and proves: the whole DER is one such SEQUENCE, the algorithm is
 * sha256WithRSAEncryption, the info's version is 0, its key is the slot's key byte for byte, and the
 * signature over the info's DER verifies with that key.
 */
export function verifyCsr(der: Uint8Array, slotSpki: Uint8Array): CheckedCsr {
  const b = Buffer.from(der);
  const outer = tlv(b, 0, b.length);
  if (outer.tag !== 0x30 || outer.end !== b.length) throw invalid("the CSR is not one DER SEQUENCE");
  const info = tlv(b, outer.start, outer.end);
  const alg = tlv(b, info.end, outer.end);
  const sig = tlv(b, alg.end, outer.end);
  if (info.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03 || sig.end !== outer.end)
    throw invalid("the CSR's top level is not info, algorithm, signature");
  const oid = tlv(b, alg.start, alg.end);
  if (!b.subarray(oid.at, oid.end).equals(SHA256_WITH_RSA))
    throw invalid("the CSR is not signed with sha256WithRSAEncryption");
  if (b[sig.start] !== 0) throw invalid("the CSR's signature BIT STRING has unused bits");
  const version = tlv(b, info.start, info.end);
  if (version.tag !== 0x02 || version.end - version.start !== 1 || b[version.start] !== 0)
    throw invalid("the CSR's version is not 0 (v1)");
  const subject = tlv(b, version.end, info.end);
  const spki = tlv(b, subject.end, info.end);
  if (subject.tag !== 0x30 || spki.tag !== 0x30) throw invalid("the CSR's subject or key is missing");
  const spkiDer = b.subarray(spki.at, spki.end);
  if (!spkiDer.equals(Buffer.from(slotSpki)))
    throw invalid("the CSR's public key is not the slot's public key");
  const key = createPublicKey({ key: spkiDer, format: "der", type: "spki" });
  const ok = verify("sha256", b.subarray(info.at, info.end), key, b.subarray(sig.start + 1, sig.end));
  if (!ok) throw invalid("the CSR's signature does not verify with the slot's public key");
  return { der: b, spkiDer: Buffer.from(spkiDer) };
}

/** PSS salt length the firmware uses (the SHA-256 length; docs/protocol.md, SIGN). */
export const PSS_SALT_LENGTH = 32;

/** Verifies a signature over `data` with node:crypto; throws E_SIGNATURE_INVALID otherwise. */
export function verifySlotSignature(
  data: Uint8Array,
  signature: Uint8Array,
  key: KeyObject,
  scheme: SignScheme,
): void {
  const keyOpts =
    scheme === "pss"
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH }
      : { key, padding: constants.RSA_PKCS1_PADDING };
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (signature.length !== Math.ceil(bits / 8))
    throw invalid(
      `the signature is ${signature.length} bytes, a ${bits}-bit key makes ${Math.ceil(bits / 8)}`,
    );
  if (!verify("sha256", data, keyOpts, signature))
    throw invalid(
      `the ${scheme === "pss" ? "RSASSA-PSS" : "PKCS#1 v1.5"} signature does not verify with the slot's public key`,
    );
}
