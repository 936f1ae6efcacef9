import { describe, expect, it } from "vitest";
import { RsagenError } from "../../src/errors.js";
import { checkRsaNumbers, parsePkcs1Private, readTlv } from "../../src/keys/der.js";
import { verifyKeyPair } from "../../src/keys/verify.js";
import { type DerPair, nodePair, opensslPair } from "./fixtures.js";

function expectVerifyError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RsagenError);
    expect((err as RsagenError).code).toBe("E_KEY_VERIFY_FAILED");
    expect((err as RsagenError).exitCode).toBe(35);
    expect((err as RsagenError).message).toMatch(pattern);
    return;
  }
  throw new Error("expected verifyKeyPair to throw");
}

const node2048 = nodePair(2048);
const openssl1024e3 = opensslPair(1024, 3);
const other2048 = nodePair(2048);

describe("verifyKeyPair", () => {
  it.each<[string, DerPair]>([
    ["node 1024", nodePair(1024)],
    ["node 2048", node2048],
    ["openssl 1024 e=3", openssl1024e3],
    ["openssl 3072", opensslPair(3072)],
  ])("accepts a good %s pair and reports bits, exponent and fingerprint", (_name, pair) => {
    const v = verifyKeyPair(pair.privateDer, pair.publicDer, { bits: pair.bits, exponent: pair.exponent });
    expect(v.bits).toBe(pair.bits);
    expect(v.exponent).toBe(pair.exponent);
    expect(v.spkiDer.equals(pair.publicDer)).toBe(true);
    expect(v.fingerprint.sha256).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(v.fingerprint.sha256Hex).toMatch(/^[0-9a-f]{64}$/);
  });

  it("rejects a modulus of another size than requested", () => {
    expectVerifyError(
      () => verifyKeyPair(node2048.privateDer, node2048.publicDer, { bits: 3072, exponent: 65537 }),
      /modulus is 2048 bits, requested 3072/,
    );
  });

  it("rejects another public exponent than requested", () => {
    expectVerifyError(
      () => verifyKeyPair(openssl1024e3.privateDer, openssl1024e3.publicDer, { bits: 1024, exponent: 65537 }),
      /public exponent is 3, requested 65537/,
    );
  });

  it("rejects a private key that does not belong to the public key", () => {
    expectVerifyError(
      () => verifyKeyPair(node2048.privateDer, other2048.publicDer, { bits: 2048, exponent: 65537 }),
      /does not belong/,
    );
  });

  it.each([1, 10, 100, 600])("rejects private DER truncated by %i bytes", (cut) => {
    const der = node2048.privateDer.subarray(0, node2048.privateDer.length - cut);
    expectVerifyError(
      () => verifyKeyPair(der, node2048.publicDer, { bits: 2048, exponent: 65537 }),
      /PKCS#1|malformed/,
    );
  });

  it("rejects truncated public DER", () => {
    const der = node2048.publicDer.subarray(0, node2048.publicDer.length - 3);
    expectVerifyError(
      () => verifyKeyPair(node2048.privateDer, der, { bits: 2048, exponent: 65537 }),
      /SubjectPublicKeyInfo/,
    );
  });

  it("rejects trailing bytes after the private key", () => {
    const der = Buffer.concat([node2048.privateDer, Buffer.from([0])]);
    expectVerifyError(() => verifyKeyPair(der, node2048.publicDer, { bits: 2048, exponent: 65537 }), /./);
  });

  it("catches a corrupted CRT coefficient that OpenSSL imports without complaint", () => {
    // The last bytes of the DER are the low bytes of qInv: flipping one keeps the DER valid.
    const der = Buffer.from(node2048.privateDer);
    der[der.length - 1] = der[der.length - 1]! ^ 0x01;
    expectVerifyError(() => verifyKeyPair(der, node2048.publicDer, { bits: 2048, exponent: 65537 }), /qInv/);
  });

  it("catches a corrupted prime", () => {
    const der = Buffer.from(node2048.privateDer);
    const numbers = parsePkcs1Private(der);
    // Locate p: the 5th INTEGER in the SEQUENCE; flip its last byte.
    const seq = readTlv(der, 0);
    let off = seq.start;
    for (let i = 0; i < 4; i++) off = readTlv(der, off).end;
    const p = readTlv(der, off);
    der[p.end - 1] = der[p.end - 1]! ^ 0x02;
    expect(parsePkcs1Private(der).p).not.toBe(numbers.p);
    expectVerifyError(() => verifyKeyPair(der, node2048.publicDer, { bits: 2048, exponent: 65537 }), /./);
  });
});

describe("DER reader", () => {
  it("parses the numbers of a PKCS#1 key so that p*q == n", () => {
    const k = parsePkcs1Private(node2048.privateDer);
    expect(k.p * k.q).toBe(k.n);
    expect(k.e).toBe(65537n);
    expect(checkRsaNumbers(k)).toBeUndefined();
    expect(checkRsaNumbers({ ...k, d: k.d + 2n })).toMatch(/e\*d/);
  });

  it("refuses non-minimal lengths and integers", () => {
    expect(() => readTlv(Uint8Array.from([0x02, 0x81, 0x01, 0x05]), 0)).toThrow(/non-minimal length/);
    expect(() => parsePkcs1Private(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00]))).toThrow(/9 INTEGERs/);
    expect(() => parsePkcs1Private(Uint8Array.from([0x30, 0x04, 0x02, 0x02, 0x00, 0x05]))).toThrow(
      /non-minimal INTEGER/,
    );
    expect(() => parsePkcs1Private(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x80]))).toThrow(/negative/);
    expect(() => parsePkcs1Private(Uint8Array.from([0x30, 0x05, 0x02]))).toThrow(/runs past|truncated/);
  });
});
