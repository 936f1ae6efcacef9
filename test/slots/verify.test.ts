/**
 * The host-side checks of what a slot key produced (src/slots/verify.ts), and the parsing of
 * --subject and --san (src/slots/csr.ts). CSRs come from openssl (node:crypto cannot make one), so
 * those cases need it; each check is also shown to fail on a damaged or foreign input.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RsagenError } from "../../src/errors.js";
import { parseSan, parseSubject } from "../../src/slots/csr.js";
import { slotPublicKey, verifyCsr, verifySlotSignature } from "../../src/slots/verify.js";
import { tempDir } from "../keygen/sim-fixture.js";

const OPENSSL = spawnSync("openssl", ["version"]).status === 0;
const work = tempDir("rsagen-slots-verify-");
afterAll(() => work.remove());

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof RsagenError ? err.code : "not-RsagenError";
  }
  return undefined;
}

/** A CSR and its key pair from openssl (DER). */
function opensslCsr(name: string, md = "-sha256"): { csr: Buffer; spki: Buffer } {
  const key = join(work.dir, `${name}.key`);
  const csr = join(work.dir, `${name}.csr`);
  execFileSync(
    "openssl",
    [
      "req",
      "-new",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-subj",
      `/CN=${name}`,
      md,
      "-outform",
      "DER",
      "-out",
      csr,
    ],
    {
      stdio: "pipe",
    },
  );
  const spki = createPublicKey(createPrivateKey(readFileSync(key))).export({ type: "spki", format: "der" });
  return { csr: readFileSync(csr), spki };
}

describe.skipIf(!OPENSSL)("verifyCsr (openssl-made CSRs; skipped without openssl)", () => {
  it("accepts a CSR whose key is the slot's and whose SHA-256 signature verifies", () => {
    const { csr, spki } = opensslCsr("good");
    const r = verifyCsr(csr, spki);
    expect(r.spkiDer.equals(spki)).toBe(true);
    expect(r.der.equals(csr)).toBe(true);
  });

  it("refuses another key, a damaged signature or body, trailing bytes, and SHA-1", () => {
    const { csr, spki } = opensslCsr("a");
    const other = opensslCsr("b");
    expect(codeOf(() => verifyCsr(csr, other.spki))).toBe("E_SIGNATURE_INVALID");
    const sig = Buffer.from(csr);
    sig[sig.length - 5]! ^= 0x01;
    expect(codeOf(() => verifyCsr(sig, spki))).toBe("E_SIGNATURE_INVALID");
    const body = Buffer.from(csr);
    // The subject's CN value: after the OID 2.5.4.3 (55 04 03), its string's tag and length.
    const cn = body.indexOf(Buffer.from([0x55, 0x04, 0x03])) + 5;
    expect(String.fromCharCode(body[cn]!)).toBe("a");
    body[cn]! ^= 0x02;
    expect(codeOf(() => verifyCsr(body, spki))).toBe("E_SIGNATURE_INVALID");
    expect(codeOf(() => verifyCsr(Buffer.concat([csr, Buffer.from([0])]), spki))).toBe("E_SIGNATURE_INVALID");
    expect(codeOf(() => verifyCsr(csr.subarray(0, csr.length - 1), spki))).toBe("E_SIGNATURE_INVALID");
    const sha1 = opensslCsr("c", "-sha1");
    expect(codeOf(() => verifyCsr(sha1.csr, sha1.spki))).toBe("E_SIGNATURE_INVALID");
  });
});

describe("verifySlotSignature and slotPublicKey", () => {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const data = Buffer.from("some data");

  it("PSS with a 32-byte salt and PKCS#1 v1.5 verify; other salts, data and lengths do not", () => {
    const pss32 = sign("sha256", data, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    const pss20 = sign("sha256", data, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 20,
    });
    const v15 = sign("sha256", data, privateKey);
    expect(codeOf(() => verifySlotSignature(data, pss32, publicKey, "pss"))).toBeUndefined();
    expect(codeOf(() => verifySlotSignature(data, v15, publicKey, "pkcs1"))).toBeUndefined();
    expect(codeOf(() => verifySlotSignature(data, pss20, publicKey, "pss"))).toBe("E_SIGNATURE_INVALID");
    expect(codeOf(() => verifySlotSignature(data, v15, publicKey, "pss"))).toBe("E_SIGNATURE_INVALID");
    expect(codeOf(() => verifySlotSignature(Buffer.from("other"), v15, publicKey, "pkcs1"))).toBe(
      "E_SIGNATURE_INVALID",
    );
    expect(codeOf(() => verifySlotSignature(data, v15.subarray(1), publicKey, "pkcs1"))).toBe(
      "E_SIGNATURE_INVALID",
    );
  });

  it("slotPublicKey checks type, size and exponent", () => {
    const spki = publicKey.export({ type: "spki", format: "der" });
    const k = slotPublicKey(spki, { bits: 2048, exponent: 65537 });
    expect(k.bits).toBe(2048);
    expect(k.fingerprint.sha256).toMatch(/^SHA256:/);
    expect(codeOf(() => slotPublicKey(spki, { bits: 4096 }))).toBe("E_KEY_VERIFY_FAILED");
    expect(codeOf(() => slotPublicKey(spki, { exponent: 3 }))).toBe("E_KEY_VERIFY_FAILED");
    expect(codeOf(() => slotPublicKey(spki.subarray(0, 100)))).toBe("E_KEY_VERIFY_FAILED");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
      type: "spki",
      format: "der",
    });
    expect(codeOf(() => slotPublicKey(ec))).toBe("E_KEY_VERIFY_FAILED");
  });
});

describe("--subject and --san", () => {
  it("subjects in Mbed TLS's string form", () => {
    expect(parseSubject("CN=device-42,O=Example Ltd,C=DE")).toBe("CN=device-42,O=Example Ltd,C=DE");
    expect(parseSubject("CN=a\\,b,OU=x")).toBe("CN=a\\,b,OU=x");
    for (const bad of ["", "CN", "XX=1", "CN=caf\u00e9", "CN=", "x".repeat(513)]) {
      expect(
        codeOf(() => parseSubject(bad)),
        bad,
      ).toBe("E_USAGE");
    }
  });

  it("SANs: DNS names, IPv4/IPv6 as bytes, e-mail, URI; bad ones refused", () => {
    expect(parseSan("dns:device.example.org")).toEqual({ type: "dns", value: "device.example.org" });
    expect(parseSan("device.example.org")).toEqual({ type: "dns", value: "device.example.org" });
    expect(parseSan("*.example.org")).toEqual({ type: "dns", value: "*.example.org" });
    expect(parseSan("ip:10.0.0.7")).toEqual({ type: "ip", value: Uint8Array.from([10, 0, 0, 7]) });
    expect(parseSan("192.168.1.2")).toEqual({ type: "ip", value: Uint8Array.from([192, 168, 1, 2]) });
    const v6 = (t: string) => Buffer.from(parseSan(`ip:${t}`).value as Uint8Array).toString("hex");
    expect(v6("::1")).toBe(`${"0".repeat(30)}01`);
    expect(v6("fe80::1")).toBe(`fe80${"0".repeat(24)}0001`);
    expect(v6("2001:db8:0:0:1:0:0:1")).toBe("20010db8000000000001000000000001");
    expect(v6("::ffff:10.0.0.1")).toBe(`${"0".repeat(20)}ffff0a000001`);
    expect(parseSan("email:ops@example.org")).toEqual({ type: "email", value: "ops@example.org" });
    expect(parseSan("uri:https://example.org/d/42")).toEqual({
      type: "uri",
      value: "https://example.org/d/42",
    });
    for (const bad of [
      "ip:300.1.1.1",
      "ip:::g",
      "dns:a b",
      "dns:-x.org",
      "email:nobody",
      "uri:",
      "dns:caf\u00e9.de",
    ]) {
      expect(
        codeOf(() => parseSan(bad)),
        bad,
      ).toBe("E_USAGE");
    }
  });
});
