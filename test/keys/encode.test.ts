import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { encodePrivate, encodePublic } from "../../src/keys/encode.js";
import { spkiFingerprint } from "../../src/keys/fingerprint.js";
import { pemEncode } from "../../src/keys/pem.js";
import { verifyKeyPair } from "../../src/keys/verify.js";
import { nodePair } from "./fixtures.js";

const pair = nodePair(2048);
const verified = verifyKeyPair(pair.privateDer, pair.publicDer, { bits: 2048, exponent: 65537 });
const nodeKey = createPrivateKey({ key: pair.privateDer, format: "der", type: "pkcs1" });

describe("pemEncode", () => {
  it("matches node:crypto's PEM output byte for byte", () => {
    expect(pemEncode("RSA PRIVATE KEY", pair.privateDer).toString()).toBe(
      nodeKey.export({ type: "pkcs1", format: "pem" }),
    );
    expect(pemEncode("PUBLIC KEY", pair.publicDer).toString()).toBe(
      verified.publicKey.export({ type: "spki", format: "pem" }),
    );
  });

  it.each([0, 1, 2, 3, 47, 48, 49, 50])("encodes %i bytes like Buffer base64 with 64-column lines", (n) => {
    const data = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff));
    const pem = pemEncode("PUBLIC KEY", data).toString();
    const body = pem.split("\n").slice(1, -2).join("");
    expect(body).toBe(data.toString("base64"));
    for (const line of pem.split("\n")) expect(line.length).toBeLessThanOrEqual(64);
  });
});

describe("encodePrivate / encodePublic", () => {
  it("writes PKCS#1 and PKCS#8 that re-import to the same key", () => {
    for (const enc of ["pkcs1", "pkcs8"] as const) {
      for (const format of ["pem", "der"] as const) {
        const bytes = encodePrivate(verified, { format, private: enc });
        const back = createPrivateKey(
          format === "der" ? { key: bytes, format, type: enc } : { key: bytes, format },
        );
        expect(back.export({ type: "pkcs1", format: "der" }).equals(pair.privateDer)).toBe(true);
        if (format === "pem") {
          expect(bytes.toString()).toMatch(
            enc === "pkcs1" ? /^-----BEGIN RSA PRIVATE KEY-----\n/ : /^-----BEGIN PRIVATE KEY-----\n/,
          );
        }
      }
    }
  });

  it("writes the public key as SPKI", () => {
    expect(encodePublic(verified, { format: "der" }).equals(pair.publicDer)).toBe(true);
    expect(encodePublic(verified, { format: "pem" }).toString()).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });
});

describe("spkiFingerprint", () => {
  it("is the SHA-256 of the SPKI DER as openssl computes it, in ssh-keygen's SHA256:base64 form", () => {
    const hex = execFileSync("openssl", ["dgst", "-sha256", "-r"], {
      input: pair.publicDer,
      encoding: "utf8",
    }).split(" ")[0];
    const fp = spkiFingerprint(pair.publicDer);
    expect(fp.sha256Hex).toBe(hex);
    expect(fp.sha256).toBe(`SHA256:${Buffer.from(hex!, "hex").toString("base64").replace(/=+$/, "")}`);
    expect(fp.sha256.endsWith("=")).toBe(false);
    expect(fp.sha256Hex).toBe(createHash("sha256").update(pair.publicDer).digest("hex"));
  });
});
