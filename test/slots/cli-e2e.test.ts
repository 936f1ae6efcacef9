/**
 * Keys that never leave the board, end to end: the compiled CLI (`npm run build` first) as a user
 * runs it against a board under test (board-under-test.ts; the virtual board with the real host
 * firmware, real Mbed TLS, its key partition in the board's flash), checked with node:crypto and
 * openssl: keygen --keep, slot list/show/delete, csr (openssl req -verify, a certificate from a test
 * CA), sign (PSS and PKCS#1 v1.5), exit codes for unknown slots, bad names, an existing slot and a
 * full partition, a reset and a power cycle between keep and use, and two keeps racing.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { constants, createPublicKey, verify } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DeviceClient } from "../../src/device/client.js";
import { duplexFromTransport } from "../../src/device/duplex.js";
import { openTransport } from "../../src/serial/open-transport.js";
import { runCliAsync } from "../flash/helpers/cli.js";
import { CLI, jsonLines } from "../helpers/run-cli.js";
import { tempDir } from "../keygen/sim-fixture.js";
import { BOARDS, type BoardUnderTest } from "./board-under-test.js";

const OPENSSL = spawnSync("openssl", ["version"]).status === 0;
if (!OPENSSL) console.warn("openssl not found: the openssl checks of test/slots are skipped");

/** A 4096-bit key with ~2 s of generation on the host (test/keygen/cli-e2e.test.ts). */
const SLOW_SEED = "inline-3";

type Json = Record<string, unknown>;
const result = (stdout: string) => jsonLines(stdout).at(-1)!.result as Json;
const errorOf = (stdout: string) => (jsonLines(stdout).at(-1)!.error as Json | undefined) ?? {};

describe.each(BOARDS)("key slots on the $name", (factory) => {
  const work = tempDir("rsagen-slots-e2e-");
  const boards: BoardUnderTest[] = [];
  beforeAll(() => factory.prepare(), 300_000);
  afterEach(async () => {
    for (const b of boards.splice(0)) await b.close();
  });
  afterAll(() => {
    factory.cleanup();
    work.remove();
  });

  async function board(opts: Parameters<typeof factory.start>[0] = {}): Promise<BoardUnderTest> {
    const b = await factory.start(opts);
    boards.push(b);
    return b;
  }
  const rsagen = (b: BoardUnderTest, args: string[], timeoutMs = 120_000) =>
    runCliAsync(["--json", "--port", b.url, ...args], { cwd: work.dir, timeoutMs });

  it("keep, list, show, csr (openssl req -verify, a test CA issues the certificate), sign (PSS, PKCS#1 v1.5), delete", {
    timeout: 300_000,
  }, async () => {
    const b = await board();
    const keys = join(work.dir, "keys1");
    let r = await rsagen(b, ["keygen", "--keep", "--slot", "device", "--bits", "2048", "--out", keys]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const kept = result(r.stdout);
    expect(kept.slot).toBe("device");
    expect(readdirSync(keys)).toEqual([String(kept.publicPath).split("/").pop()]); // no private key file
    const pubPem = readFileSync(String(kept.publicPath), "utf8");
    const pub = createPublicKey(pubPem);
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(
      jsonLines(r.stdout).some(
        (l) => l.event === "warning" && /flash encryption is off/.test(String(l.message)),
      ),
    ).toBe(true);

    // The same slot again: refused before any generation, exit 42.
    r = await rsagen(b, ["keygen", "--keep", "--slot", "device", "--bits", "1024", "--out", keys]);
    expect(r.status).toBe(42);
    expect(errorOf(r.stdout).code).toBe("E_SLOT_EXISTS");

    r = await rsagen(b, ["slot", "list"]);
    expect(r.status).toBe(0);
    const list = result(r.stdout);
    expect(list.total).toBe(1);
    expect(list.capacity).toBe(15);
    expect((list.slots as Json[]).map((s) => [s.name, s.bits])).toEqual([["device", 2048]]);
    expect((list.storage as Json).flashEncryption).toBe(false);
    expect((list.storage as Json).partition).toBe(true);

    const showPath = join(work.dir, "shown.pub.pem");
    r = await rsagen(b, ["slot", "show", "device", "--out", showPath]);
    expect(r.status).toBe(0);
    const shown = result(r.stdout);
    expect(shown.fingerprint).toBe(kept.fingerprint);
    expect(shown.publicKeyPem).toBe(pubPem);
    expect(readFileSync(showPath, "utf8")).toBe(pubPem);

    // CSR: checked by the CLI, then by openssl; the CSR's key is the slot's key.
    const csrPath = join(work.dir, "device.csr.pem");
    r = await rsagen(b, [
      "csr",
      "--slot",
      "device",
      "--subject",
      "CN=device-42,O=Example Ltd,C=DE",
      "--san",
      "dns:device-42.example.org",
      "--san",
      "ip:10.0.0.7",
      "-o",
      csrPath,
    ]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(result(r.stdout).fingerprint).toBe(kept.fingerprint);
    const csrPem = readFileSync(csrPath, "utf8");
    expect(csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);

    // Sign a file with both schemes; node:crypto verifies with the public key written at keep time.
    const data = join(work.dir, "firmware.bin");
    writeFileSync(data, Buffer.from("a firmware image, or any file: ".repeat(100)));
    for (const scheme of ["pss", "pkcs1"] as const) {
      const sig = join(work.dir, `firmware.${scheme}.sig`);
      r = await rsagen(b, ["sign", "--slot", "device", "--scheme", scheme, "-o", sig, data]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      const s = readFileSync(sig);
      expect(s.length).toBe(256);
      const key =
        scheme === "pss"
          ? { key: pub, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
          : { key: pub, padding: constants.RSA_PKCS1_PADDING };
      expect(verify("sha256", readFileSync(data), key, s)).toBe(true);
      expect(verify("sha256", Buffer.from("another file"), key, s)).toBe(false);
    }

    if (OPENSSL) {
      const ossl = (args: string[]) =>
        execFileSync("openssl", args, { cwd: work.dir, encoding: "utf8", stdio: "pipe" });
      // -verify prints "Certificate request self-signature verify OK" (3.x) or "verify OK" (1.1) on stderr.
      const v = spawnSync("openssl", ["req", "-in", csrPath, "-verify", "-noout"], { encoding: "utf8" });
      expect(v.status).toBe(0);
      expect(`${v.stdout}${v.stderr}`).toMatch(/verify OK/);
      expect(ossl(["req", "-in", csrPath, "-noout", "-subject"])).toMatch(
        /CN ?= ?device-42, ?O ?= ?Example Ltd, ?C ?= ?DE/,
      );
      expect(ossl(["req", "-in", csrPath, "-noout", "-pubkey"])).toBe(pubPem);
      const text = ossl(["req", "-in", csrPath, "-noout", "-text"]);
      expect(text).toMatch(/DNS:device-42\.example\.org, IP Address:10\.0\.0\.7/);
      expect(text).toMatch(/sha256WithRSAEncryption/);
      // The walkthrough of docs/device-identity.md: a test CA signs the CSR; the certificate holds the
      // slot's key and chains to the CA.
      ossl([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=rsagen test CA",
      ]);
      ossl([
        "x509",
        "-req",
        "-in",
        csrPath,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "device.pem",
        "-days",
        "1",
        "-copy_extensions",
        "copy",
      ]);
      expect(ossl(["x509", "-in", "device.pem", "-noout", "-pubkey"])).toBe(pubPem);
      expect(ossl(["verify", "-CAfile", "ca.pem", "device.pem"])).toMatch(/device\.pem: OK/);
      // openssl checks the signatures too (PSS with the salt length the firmware uses).
      const pssOk = spawnSync(
        "openssl",
        [
          "dgst",
          "-sha256",
          "-verify",
          showPath,
          "-sigopt",
          "rsa_padding_mode:pss",
          "-sigopt",
          "rsa_pss_saltlen:32",
          "-signature",
          join(work.dir, "firmware.pss.sig"),
          data,
        ],
        { encoding: "utf8" },
      );
      expect(pssOk.stdout).toMatch(/Verified OK/);
      const v15 = spawnSync(
        "openssl",
        ["dgst", "-sha256", "-verify", showPath, "-signature", join(work.dir, "firmware.pkcs1.sig"), data],
        {
          encoding: "utf8",
        },
      );
      expect(v15.stdout).toMatch(/Verified OK/);
    }

    // The partition holds the slot's public key in its record, until the delete.
    const spki = pub.export({ type: "spki", format: "der" });
    expect(Buffer.from(b.keyPartition()).includes(spki)).toBe(true);
    r = await rsagen(b, ["slot", "delete", "device"]);
    expect(r.status).toBe(0);
    expect(result(r.stdout).name).toBe("device");
    r = await rsagen(b, ["slot", "list"]);
    expect(result(r.stdout).total).toBe(0);
    // Zeroized and erased: the whole partition reads 0xFF again.
    expect(b.keyPartition().every((x) => x === 0xff)).toBe(true);
    for (const args of [
      ["slot", "show", "device"],
      ["slot", "delete", "device"],
      ["sign", "--slot", "device", data],
    ]) {
      r = await rsagen(b, args);
      expect(r.status, args.join(" ")).toBe(41);
      expect(errorOf(r.stdout).code).toBe("E_SLOT_NOT_FOUND");
    }
  });

  it("bad names, unknown slots, bad subjects: refused with their exit codes and one error", {
    timeout: 120_000,
  }, async () => {
    const b = await board();
    const cases: Array<[string[], number, string]> = [
      [["keygen", "--keep", "--slot", "bad name"], 2, "E_USAGE"],
      [["keygen", "--keep", "--slot", "-dash"], 2, "E_USAGE"],
      [["keygen", "--keep", "--slot", "x".repeat(32)], 2, "E_USAGE"],
      [["keygen", "--slot", "device"], 2, "E_USAGE"],
      [["slot", "show", "caf\u00e9"], 2, "E_USAGE"],
      [["slot", "show", "ghost"], 41, "E_SLOT_NOT_FOUND"],
      [["csr", "--slot", "ghost", "--subject", "CN=x"], 41, "E_SLOT_NOT_FOUND"],
      [["csr", "--slot", "device"], 2, "E_USAGE"],
      [["csr", "--slot", "device", "--subject", "XX=1"], 2, "E_USAGE"],
      [["csr", "--slot", "device", "--subject", "CN=x", "--san", "ip:300.1.1.1"], 2, "E_USAGE"],
      [["sign", "--slot", "ghost", "--scheme", "pss", CLI], 41, "E_SLOT_NOT_FOUND"],
      [["sign", "--slot", "device", "--scheme", "md5", CLI], 2, "E_USAGE"],
    ];
    for (const [args, code, name] of cases) {
      const r = await rsagen(b, args);
      expect(r.status, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(code);
      const lines = jsonLines(r.stdout).filter((l) => "error" in l);
      expect(lines).toHaveLength(1);
      expect(errorOf(r.stdout).code).toBe(name);
    }
  });

  it("a kept key survives a reset and a power cycle; csr and sign then use it", {
    timeout: 180_000,
  }, async () => {
    const b = await board();
    let r = await rsagen(b, [
      "keygen",
      "--keep",
      "--slot",
      "id",
      "--bits",
      "1024",
      "--out",
      join(work.dir, "k3"),
    ]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const pubPem = readFileSync(String(result(r.stdout).publicPath), "utf8");
    r = await rsagen(b, ["info", "--reset"]);
    expect(r.status).toBe(0);
    const info = result(r.stdout);
    expect(info.reset).toBe(true);
    expect(info.featureNames).toEqual(expect.arrayContaining(["key-slots", "slot-csr"]));
    expect(info.storage).toEqual({
      flashEncryption: false,
      secureBoot: false,
      partition: true,
      encrypted: false,
      slotsUsed: 1,
      slotsCapacity: 15,
    });
    const text = await runCliAsync(["--port", b.url, "info"], { cwd: work.dir });
    expect(text.stdout).toMatch(/^key slots: 1 of 15 used$/m);
    expect(text.stdout).toMatch(/^flash encryption: off \(kept keys are plain text in flash\)$/m);
    r = await rsagen(b, [
      "csr",
      "--slot",
      "id",
      "--subject",
      "CN=after-reset",
      "-o",
      join(work.dir, "after-reset.csr.pem"),
    ]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    await b.powerCycle();
    r = await rsagen(b, ["slot", "show", "id"]);
    expect(r.status).toBe(0);
    expect(result(r.stdout).publicKeyPem).toBe(pubPem);
    const file = join(work.dir, "after-power.txt");
    writeFileSync(file, "signed after a power cycle");
    r = await rsagen(b, ["sign", "--slot", "id", file]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const key = { key: createPublicKey(pubPem), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    expect(verify("sha256", readFileSync(file), key, readFileSync(`${file}.sig`))).toBe(true);
  });

  it("a full partition: 15 slots, then E_SLOTS_FULL (43); --force replaces in a full partition; delete makes room", {
    timeout: 300_000,
  }, async () => {
    const b = await board();
    const out = join(work.dir, "full");
    for (let i = 1; i <= 15; i++) {
      const r = await rsagen(b, ["keygen", "--keep", "--slot", `k${i}`, "--bits", "1024", "--out", out]);
      expect(r.status, `k${i}: ${r.stdout}${r.stderr}`).toBe(0);
    }
    let r = await rsagen(b, ["keygen", "--keep", "--slot", "k16", "--bits", "1024", "--out", out]);
    expect(r.status).toBe(43);
    expect(errorOf(r.stdout).code).toBe("E_SLOTS_FULL");
    r = await rsagen(b, ["keygen", "--keep", "--slot", "k3", "--force", "--bits", "1024", "--out", out]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    r = await rsagen(b, ["slot", "delete", "k1"]);
    expect(r.status).toBe(0);
    r = await rsagen(b, ["keygen", "--keep", "--slot", "k16", "--bits", "1024", "--out", out]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    r = await rsagen(b, ["slot", "list"]);
    const names = (result(r.stdout).slots as Json[]).map((s) => s.name);
    expect(names).toHaveLength(15);
    expect(names).not.toContain("k1");
    expect(names).toContain("k16");
  });

  it("two keeps racing: the firmware refuses a second KEEP while one runs (BUSY); a second CLI client is refused (17)", {
    timeout: 180_000,
  }, async () => {
    const b = await board({ seed: SLOW_SEED });
    // Firmware level: two KEEP requests back to back on one connection.
    const t = await openTransport(b.url);
    const c = new DeviceClient(duplexFromTransport(t));
    try {
      await c.hello({ timeoutMs: 5000 });
      const first = c.keep({ bits: 4096, exponent: 65537, name: "a", replace: false });
      const second = c.keep({ bits: 4096, exponent: 65537, name: "b", replace: false });
      const [r1, r2] = await Promise.allSettled([first, second]);
      expect(r1.status).toBe("fulfilled");
      expect(r2.status).toBe("rejected");
      expect((r2 as PromiseRejectedResult).reason.code).toBe("E_DEVICE_BUSY");
      const done = await c.waitForEvent("done", 60_000);
      expect(done.status.kind).toBe("keep");
      await c.release();
      const list = await c.slotListAll();
      expect(list.slots.map((s) => s.name)).toEqual(["a"]);
    } finally {
      c.close();
      await t.close();
    }
    // Two CLI clients: the second cannot even connect while the first keeps a key.
    const env = { ...process.env };
    delete env.ESPPORT;
    const p1 = spawn(
      process.execPath,
      [
        CLI,
        "--json",
        "--port",
        b.url,
        "keygen",
        "--keep",
        "--slot",
        "c",
        "--bits",
        "4096",
        "--out",
        join(work.dir, "race"),
      ],
      {
        cwd: work.dir,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out1 = "";
    p1.stdout.on("data", (d: Buffer) => (out1 += d.toString()));
    const exit1 = new Promise<number | null>((res) => p1.on("exit", (code) => res(code)));
    const t0 = Date.now();
    while (!/"event":"started"/.test(out1) && Date.now() - t0 < 30_000)
      await new Promise((res) => setTimeout(res, 20));
    expect(out1).toMatch(/"event":"started"/);
    const r2 = await rsagen(b, [
      "keygen",
      "--keep",
      "--slot",
      "d",
      "--bits",
      "1024",
      "--out",
      join(work.dir, "race2"),
    ]);
    expect(r2.status).toBe(17);
    expect(errorOf(r2.stdout).code).toBe("E_PORT_BUSY");
    expect(await exit1).toBe(0);
    const r = await rsagen(b, ["slot", "list"]);
    expect((result(r.stdout).slots as Json[]).map((s) => s.name)).toEqual(["a", "c"]);
  });
});
