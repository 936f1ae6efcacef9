/**
 * A small strict DER reader: just enough to walk a PKCS#1 RSAPrivateKey (RFC 8017 A.1.2) and check
 * that its numbers belong together. node:crypto imports a PKCS#1 key without checking p*q == n, so a
 * device that wrote a broken CRT component would otherwise only be caught by the sign/verify test
 * (and not at all for components the signer does not use).
 */
import { RsagenError } from "../errors.js";

export interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

function bad(what: string): RsagenError {
  return new RsagenError(
    "E_KEY_VERIFY_FAILED",
    `private key DER is malformed: ${what}`,
    "the key read back from the board is not valid PKCS#1; run keygen again",
  );
}

/** Reads one TLV at `off`; only definite, minimal lengths (DER), never past `limit`. */
export function readTlv(buf: Uint8Array, off: number, limit = buf.length): Tlv {
  if (off + 2 > limit) throw bad(`truncated header at offset ${off}`);
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw bad(`multi-byte tag at offset ${off}`);
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw bad(`unsupported length form at offset ${off}`);
    if (p + n > limit) throw bad(`truncated length at offset ${off}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    if (buf[p] === 0 || len < 0x80) throw bad(`non-minimal length at offset ${off}`);
    p += n;
  }
  if (p + len > limit) throw bad(`content runs past the end at offset ${off}`);
  return { tag, start: p, end: p + len };
}

/** Reads a DER INTEGER as a non-negative bigint (RSA key numbers are never negative). */
export function readUnsignedInteger(buf: Uint8Array, tlv: Tlv): bigint {
  if (tlv.tag !== 0x02) throw bad(`expected INTEGER, found tag 0x${tlv.tag.toString(16)}`);
  const len = tlv.end - tlv.start;
  if (len === 0) throw bad("empty INTEGER");
  const first = buf[tlv.start]!;
  if (first & 0x80) throw bad("negative INTEGER");
  if (len > 1 && first === 0 && !(buf[tlv.start + 1]! & 0x80)) throw bad("non-minimal INTEGER");
  let v = 0n;
  for (let i = tlv.start; i < tlv.end; i++) v = (v << 8n) | BigInt(buf[i]!);
  return v;
}

export interface RsaPrivateNumbers {
  n: bigint;
  e: bigint;
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qinv: bigint;
}

/** Parses RSAPrivateKey ::= SEQUENCE { version(0), n, e, d, p, q, dp, dq, qinv } (two-prime only). */
export function parsePkcs1Private(der: Uint8Array): RsaPrivateNumbers {
  const seq = readTlv(der, 0);
  if (seq.tag !== 0x30) throw bad("not a SEQUENCE");
  if (seq.end !== der.length) throw bad(`${der.length - seq.end} trailing bytes after the key`);
  const ints: bigint[] = [];
  let off = seq.start;
  while (off < seq.end) {
    const t = readTlv(der, off, seq.end);
    ints.push(readUnsignedInteger(der, t));
    off = t.end;
  }
  if (ints.length !== 9) throw bad(`expected 9 INTEGERs (two-prime key), found ${ints.length}`);
  const [version, n, e, d, p, q, dp, dq, qinv] = ints as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  if (version !== 0n) throw bad(`version ${version}, expected 0`);
  return { n, e, d, p, q, dp, dq, qinv };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Checks the relations RFC 8017 section 3.2 requires between the numbers. Returns the first broken
 * relation, or undefined. (Primality of p and q is not re-tested: the sign/verify round trip and
 * e*d = 1 mod lambda(n) already fail for a key built on a composite factor in all practical cases.)
 */
export function checkRsaNumbers(k: RsaPrivateNumbers): string | undefined {
  const one = 1n;
  if (k.p <= one || k.q <= one) return "p or q is not greater than 1";
  if (k.p * k.q !== k.n) return "p*q != n";
  if (k.p === k.q) return "p == q";
  const p1 = k.p - one;
  const q1 = k.q - one;
  const lambda = (p1 / gcd(p1, q1)) * q1;
  if ((k.e * k.d) % lambda !== one) return "e*d != 1 mod lcm(p-1, q-1)";
  if (k.dp !== k.d % p1) return "dP != d mod (p-1)";
  if (k.dq !== k.d % q1) return "dQ != d mod (q-1)";
  if ((k.qinv * k.q) % k.p !== one) return "qInv*q != 1 mod p";
  return undefined;
}
