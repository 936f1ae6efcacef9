import { spawnSync } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/run-cli.js";

// README's command 1, as a new user runs it (set-up is skipped: CI has just done it with .ci/run):
// host build, a virtual esp32c3, flash over RFC 2217 with paced bytes, keygen --bits 2048.
describe("quickstart.sh", () => {
  it("goes from build to a verified 2048-bit key pair on a virtual esp32c3", () => {
    const keys = mkdtempSync(join(tmpdir(), "rsagen-quickstart-"));
    const r = spawnSync("bash", ["quickstart.sh"], {
      cwd: REPO_ROOT,
      env: { ...process.env, RSAGEN_SKIP_SETUP: "1", RSAGEN_KEYS: keys },
      encoding: "utf8",
      timeout: 240_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/all MD5-verified/);

    // The virtual board it started is gone with it: no process still uses its flash file.
    const flashFile = /\(flash file: (\S+)\)/.exec(r.stdout)?.[1];
    expect(flashFile).toBeTruthy();
    const ps = spawnSync("ps", ["-eo", "pid,args"], { encoding: "utf8" }).stdout;
    expect(ps.split("\n").filter((l) => l.includes(flashFile!))).toEqual([]);

    const files = readdirSync(keys).sort();
    expect(files).toHaveLength(2);
    const priv = files.find((f) => f.endsWith(".key.pem"));
    const pub = files.find((f) => f.endsWith(".pub.pem"));
    expect(priv && pub).toBeTruthy();
    expect(statSync(join(keys, priv!)).mode & 0o777).toBe(0o600);

    const privateKey = createPrivateKey(readFileSync(join(keys, priv!)));
    const publicKey = createPublicKey(readFileSync(join(keys, pub!)));
    expect(privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(privateKey.asymmetricKeyDetails?.publicExponent).toBe(65537n);
    const msg = Buffer.from("quickstart");
    expect(verify("sha256", msg, publicKey, sign("sha256", msg, privateKey))).toBe(true);

    // The fingerprint printed is the SHA-256 of the SPKI DER, computed here independently.
    const spki = publicKey.export({ type: "spki", format: "der" });
    const fp = createHash("sha256").update(spki).digest("base64").replace(/=+$/, "");
    expect(r.stdout).toContain(`SHA256:${fp}`);
  }, 300_000);
});
