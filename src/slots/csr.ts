/**
 * `rsagen csr`: the board builds a PKCS#10 certification request with the key of one of its slots
 * (Mbed TLS, SHA-256); the CLI checks that its public key is the slot's and that its signature
 * verifies, then writes it (PEM "CERTIFICATE REQUEST", or DER).
 */
import { isIP } from "node:net";
import { DeviceRequestError } from "../device/client.js";
import { CSR_MAX_SUBJECT, DeviceErrorCode, type San } from "../device/messages.js";
import { RsagenError } from "../errors.js";
import { readPart } from "../keygen/readback.js";
import { pemEncode } from "../keys/pem.js";
import { PUBLIC_KEY_MODE } from "../keys/save.js";
import { assertTargetsFree, writeFilesAtomically } from "../keys/write.js";
import { type SlotBoard, slotRefusal } from "./board.js";
import { connectSlots, requireIdle, type SlotConnectEvent } from "./connect.js";
import { runSlotJob, type SlotJobEvent, type SlotJobOptions } from "./job.js";
import { slotPublicKey, verifyCsr } from "./verify.js";

/** Mbed TLS's subject attribute names (library/x509_create.c, x509_attrs), as the board accepts them. */
const SUBJECT_KEYS =
  /^(CN|commonName|C|countryName|O|organizationName|L|locality|R|OU|organizationalUnitName|ST|stateOrProvinceName|emailAddress|E|serialNumber|postalAddress|postalCode|dnQualifier|title|SN|surName|GN|givenName|initials|pseudonym|generationQualifier|domainComponent|DC|uid)$/;

/** Checks a subject in Mbed TLS's string form ("CN=x,O=y", "\," escapes a comma). */
export function parseSubject(text: string): string {
  const bad = (why: string) =>
    new RsagenError(
      "E_USAGE",
      `--subject "${text}": ${why}`,
      'e.g. --subject "CN=device-42,O=Example Ltd,C=DE"',
    );
  if (text.length === 0 || text.length > CSR_MAX_SUBJECT) throw bad(`1..${CSR_MAX_SUBJECT} characters`);
  if (!/^[\x20-\x7e]+$/.test(text))
    throw bad("printable ASCII only (the board's Mbed TLS takes no UTF-8 here)");
  const parts = text.split(/(?<!\\),/);
  for (const p of parts) {
    const eq = p.indexOf("=");
    const key = p.slice(0, eq).trim();
    if (eq <= 0 || p.slice(eq + 1).length === 0) throw bad(`"${p}" is not NAME=value`);
    if (!SUBJECT_KEYS.test(key))
      throw bad(`unknown attribute ${key} (CN, O, OU, C, ST, L, emailAddress, ...)`);
  }
  return text;
}

function ipBytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  const v = isIP(text);
  if (v === 4) return Uint8Array.from(text.split(".").map(Number));
  if (v !== 6) return undefined;
  // Expand "::" and embedded IPv4, then 8 groups of 16 bits.
  let t = text;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const b = v4[1]!.split(".").map(Number);
    t = `${t.slice(0, -v4[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = t.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const tl = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill("0"), ...tl];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

/** --san values: dns:NAME, ip:ADDR, email:ADDR, uri:URI; a bare value is a DNS name (or an IP). */
export function parseSan(text: string): San {
  const m = /^(dns|ip|email|uri):(.*)$/i.exec(text);
  const type = (m?.[1]?.toLowerCase() ?? (isIP(text) ? "ip" : "dns")) as San["type"];
  const value = m ? m[2]! : text;
  const bad = (why: string) =>
    new RsagenError(
      "E_USAGE",
      `--san ${text}: ${why}`,
      "e.g. --san dns:device-42.example.org --san ip:10.0.0.7",
    );
  if (type === "ip") {
    const b = ipBytes(value);
    if (!b) throw bad("not an IPv4 or IPv6 address");
    return { type, value: b };
  }
  if (!/^[\x21-\x7e]{1,253}$/.test(value)) throw bad("1..253 printable ASCII characters, no spaces");
  if (
    type === "dns" &&
    !/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(value)
  )
    throw bad("not a DNS name");
  if (type === "email" && !/^[^@]+@[^@]+$/.test(value)) throw bad("not an e-mail address");
  return { type, value };
}

export interface CsrOptions extends SlotJobOptions {
  slot: string;
  subject: string;
  sans: San[];
  /** Output file. */
  out: string;
  format: "pem" | "der";
  force: boolean;
  bootWaitMs?: number;
}

export type CsrEvent =
  | SlotConnectEvent
  | SlotJobEvent
  | { kind: "verified"; fingerprint: string }
  | { kind: "written"; path: string };

export interface CsrResult {
  slot: string;
  bits: number;
  subject: string;
  path: string;
  bytes: number;
  fingerprint: string;
  deviceElapsedMs: number;
  released: boolean;
}

export async function runCsr(
  board: SlotBoard,
  opts: CsrOptions,
  onEvent: (ev: CsrEvent) => void = () => {},
): Promise<CsrResult> {
  await assertTargetsFree([opts.out], opts.force);
  const info = await connectSlots(board, "csr", opts, onEvent);
  requireIdle(info);
  const slot = await board
    .slotInfo(opts.slot)
    .catch((err: unknown) => Promise.reject(slotRefusal(err, opts.slot)));
  const pub = slotPublicKey(slot.pub, { bits: slot.bits });
  let run: Awaited<ReturnType<typeof runSlotJob<Buffer>>>;
  try {
    run = await runSlotJob(
      board,
      "csr",
      () => board.csr({ name: opts.slot, subject: opts.subject, sans: opts.sans }),
      async (status) => {
        const n = status.outputLength ?? 0;
        if (n <= 0 || n > 8192 || !status.outputSha256) {
          throw new RsagenError(
            "E_DEVICE_PROTOCOL",
            `the board reports a CSR of ${n} bytes`,
            "reset the board",
          );
        }
        return readPart(board, "out", n, status.outputSha256);
      },
      opts,
      onEvent,
    );
  } catch (err) {
    if (err instanceof DeviceRequestError && err.device.code === DeviceErrorCode.BAD_ARGS) {
      throw new RsagenError(
        "E_USAGE",
        `the board refused the request: ${err.device.message}`,
        'check --subject and --san (e.g. --subject "CN=device-42,O=Example")',
      );
    }
    throw err;
  }
  const csr = verifyCsr(run.value, pub.spkiDer);
  onEvent({ kind: "verified", fingerprint: pub.fingerprint.sha256 });
  const data = opts.format === "der" ? csr.der : pemEncode("CERTIFICATE REQUEST", csr.der);
  await writeFilesAtomically([{ path: opts.out, data, mode: PUBLIC_KEY_MODE }], { force: opts.force });
  onEvent({ kind: "written", path: opts.out });
  return {
    slot: opts.slot,
    bits: pub.bits,
    subject: opts.subject,
    path: opts.out,
    bytes: csr.der.length,
    fingerprint: pub.fingerprint.sha256,
    deviceElapsedMs: run.status.elapsedMs,
    released: run.released,
  };
}
