import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { keyFilePaths } from "../../src/keys/naming.js";
import { saveKeyPair } from "../../src/keys/save.js";
import { verifyKeyPair } from "../../src/keys/verify.js";
import { writeFilesAtomically } from "../../src/keys/write.js";
import { rejectionOf } from "../helpers/error-of.js";
import { nodePair, opensslCheck, opensslPair } from "./fixtures.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rsagen-keys-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const pair = opensslPair(2048);
const verified = verifyKeyPair(pair.privateDer, pair.publicDer, { bits: 2048, exponent: 65537 });

describe("keyFilePaths", () => {
  it("defaults to rsa-<bits>-<8 hex of the fingerprint> in --out", () => {
    const p = keyFilePaths({
      out: "keys",
      prefix: undefined,
      bits: 2048,
      fingerprintHex: "abcdef0123456789",
      format: "pem",
      cwd: "/x",
    });
    expect(p).toEqual({
      privatePath: "/x/keys/rsa-2048-abcdef01.key.pem",
      publicPath: "/x/keys/rsa-2048-abcdef01.pub.pem",
    });
  });

  it("uses --prefix (which may carry its own path) and the format as extension", () => {
    const p = keyFilePaths({
      out: ".",
      prefix: "boards/b1",
      bits: 1024,
      fingerprintHex: "00",
      format: "der",
      cwd: "/w",
    });
    expect(p.privatePath).toBe("/w/boards/b1.key.der");
    expect(p.publicPath).toBe("/w/boards/b1.pub.der");
  });

  it.each(["", "dir/", ".."])("refuses the prefix '%s'", (prefix) => {
    expect(() => keyFilePaths({ out: ".", prefix, bits: 1024, fingerprintHex: "00", format: "pem" })).toThrow(
      /--prefix/,
    );
  });
});

describe("saveKeyPair", () => {
  it.each([
    ["pem", "pkcs8"],
    ["pem", "pkcs1"],
    ["der", "pkcs8"],
    ["der", "pkcs1"],
  ] as const)(
    "writes %s/%s files that openssl pkey -check accepts, private 0600, public 0644",
    async (format, enc) => {
      const saved = await saveKeyPair(verified, {
        out: dir,
        prefix: undefined,
        format,
        private: enc,
        publicOnly: false,
        force: false,
      });
      expect(saved.privatePath).toBe(
        join(dir, `rsa-2048-${verified.fingerprint.sha256Hex.slice(0, 8)}.key.${format}`),
      );
      expect(statSync(saved.privatePath!).mode & 0o777).toBe(0o600);
      expect(statSync(saved.publicPath).mode & 0o777).toBe(0o644);
      expect(opensslCheck(saved.privatePath!, { der: format === "der" })).toMatch(/Key is valid/);
      expect(opensslCheck(saved.publicPath, { pub: true, der: format === "der" })).toMatch(/Key is valid/);
      // Only the two key files: no temp file left behind.
      expect(readdirSync(dir).sort()).toEqual(
        [saved.privatePath!, saved.publicPath].map((p) => p.slice(dir.length + 1)).sort(),
      );
    },
  );

  it("writes only the public key with --public-only", async () => {
    const saved = await saveKeyPair(verified, {
      out: dir,
      prefix: "p",
      format: "pem",
      private: "pkcs8",
      publicOnly: true,
      force: false,
    });
    expect(saved.privatePath).toBeUndefined();
    expect(readdirSync(dir)).toEqual(["p.pub.pem"]);
  });

  it("creates a missing --out folder", async () => {
    const out = join(dir, "a", "b");
    const saved = await saveKeyPair(verified, {
      out,
      prefix: "k",
      format: "pem",
      private: "pkcs8",
      publicOnly: false,
      force: false,
    });
    expect(lstatSync(saved.publicPath).isFile()).toBe(true);
  });

  it("refuses to overwrite (E_OUTPUT_EXISTS, exit 36) and writes nothing, even the file that was free", async () => {
    writeFileSync(join(dir, "k.pub.pem"), "old public");
    const err = await rejectionOf(
      saveKeyPair(verified, {
        out: dir,
        prefix: "k",
        format: "pem",
        private: "pkcs8",
        publicOnly: false,
        force: false,
      }),
    );
    expect(err.code).toBe("E_OUTPUT_EXISTS");
    expect(err.exitCode).toBe(36);
    expect(readdirSync(dir)).toEqual(["k.pub.pem"]);
    expect(readFileSync(join(dir, "k.pub.pem"), "utf8")).toBe("old public");
  });

  it("overwrites with --force and still sets mode 0600", async () => {
    writeFileSync(join(dir, "k.key.pem"), "old private", { mode: 0o666 });
    const saved = await saveKeyPair(verified, {
      out: dir,
      prefix: "k",
      format: "pem",
      private: "pkcs1",
      publicOnly: false,
      force: true,
    });
    expect(readFileSync(saved.privatePath!, "utf8")).toMatch(/BEGIN RSA PRIVATE KEY/);
    expect(statSync(saved.privatePath!).mode & 0o777).toBe(0o600);
  });
});

describe("writeFilesAtomically", () => {
  it("does not replace a file that appears after the check, and removes the first file it placed", async () => {
    const a = join(dir, "a.key");
    const b = join(dir, "b.pub");
    const err = await rejectionOf(
      writeFilesAtomically(
        [
          { path: a, data: Buffer.from("A"), mode: 0o600 },
          { path: b, data: Buffer.from("B"), mode: 0o644 },
        ],
        { force: false },
        {
          beforeMove: (i) => {
            if (i === 1) writeFileSync(b, "someone else's");
          },
        },
      ),
    );
    expect(err.code).toBe("E_OUTPUT_EXISTS");
    expect(readdirSync(dir)).toEqual(["b.pub"]);
    expect(readFileSync(b, "utf8")).toBe("someone else's");
  });

  it("removes its temp files when a later temp file cannot be created", async () => {
    const long = "x".repeat(250); // the final name fits in NAME_MAX, its temp name does not
    const err = await rejectionOf(
      writeFilesAtomically(
        [
          { path: join(dir, "ok.key"), data: Buffer.from("A"), mode: 0o600 },
          { path: join(dir, long), data: Buffer.from("B"), mode: 0o644 },
        ],
        { force: false },
      ),
    );
    expect(err.code).toBe("E_IO");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses two outputs with the same path", async () => {
    const p = join(dir, "same");
    const err = await rejectionOf(
      writeFilesAtomically(
        [
          { path: p, data: Buffer.from("A"), mode: 0o600 },
          { path: p, data: Buffer.from("B"), mode: 0o600 },
        ],
        { force: true },
      ),
    );
    expect(err.code).toBe("E_USAGE");
  });
});

describe("a key generated by node:crypto at 4096 bits", () => {
  it("round-trips through verify, save and openssl pkey -check", async () => {
    const big = nodePair(4096);
    const v = verifyKeyPair(big.privateDer, big.publicDer, { bits: 4096, exponent: 65537 });
    const saved = await saveKeyPair(v, {
      out: dir,
      prefix: undefined,
      format: "pem",
      private: "pkcs8",
      publicOnly: false,
      force: false,
    });
    expect(opensslCheck(saved.privatePath!)).toMatch(/Key is valid/);
  });
});
