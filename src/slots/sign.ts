/**
 * `rsagen sign`: the board signs a file's SHA-256 digest with the key of one of its slots
 * (RSASSA-PSS or PKCS#1 v1.5); the CLI verifies the signature over the file with node:crypto and
 * the slot's public key before it writes it (raw signature bytes, as `openssl dgst -sign` writes).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { SignScheme } from "../device/messages.js";
import { RsagenError } from "../errors.js";
import { readPart } from "../keygen/readback.js";
import { PUBLIC_KEY_MODE } from "../keys/save.js";
import { assertTargetsFree, writeFilesAtomically } from "../keys/write.js";
import { type SlotBoard, slotRefusal } from "./board.js";
import { connectSlots, requireIdle, type SlotConnectEvent } from "./connect.js";
import { runSlotJob, type SlotJobEvent, type SlotJobOptions } from "./job.js";
import { slotPublicKey, verifySlotSignature } from "./verify.js";

export interface SignOptions extends SlotJobOptions {
  slot: string;
  file: string;
  scheme: SignScheme;
  out: string;
  force: boolean;
  bootWaitMs?: number;
}

export type SignEvent =
  | SlotConnectEvent
  | SlotJobEvent
  | { kind: "verified"; fingerprint: string }
  | { kind: "written"; path: string };

export interface SignResult {
  slot: string;
  bits: number;
  scheme: SignScheme;
  file: string;
  sha256: string;
  signaturePath: string;
  signatureBytes: number;
  fingerprint: string;
  deviceElapsedMs: number;
  released: boolean;
}

export async function runSign(
  board: SlotBoard,
  opts: SignOptions,
  onEvent: (ev: SignEvent) => void = () => {},
): Promise<SignResult> {
  let data: Buffer;
  try {
    data = await readFile(opts.file);
  } catch (err) {
    throw new RsagenError(
      "E_IO",
      `cannot read ${opts.file}: ${(err as Error).message}`,
      "check the file name",
      {
        cause: err,
      },
    );
  }
  const digest = createHash("sha256").update(data).digest();
  await assertTargetsFree([opts.out], opts.force);
  const info = await connectSlots(board, "slots", opts, onEvent);
  requireIdle(info);
  const slot = await board
    .slotInfo(opts.slot)
    .catch((err: unknown) => Promise.reject(slotRefusal(err, opts.slot)));
  const pub = slotPublicKey(slot.pub, { bits: slot.bits });
  const run = await runSlotJob(
    board,
    "sign",
    () => board.sign({ name: opts.slot, scheme: opts.scheme, digest }),
    async (status) => {
      const n = status.outputLength ?? 0;
      if (n !== Math.ceil(pub.bits / 8) || !status.outputSha256) {
        throw new RsagenError(
          "E_DEVICE_PROTOCOL",
          `the board reports a ${n}-byte signature for a ${pub.bits}-bit key`,
          "reset the board",
        );
      }
      return readPart(board, "out", n, status.outputSha256);
    },
    opts,
    onEvent,
  );
  verifySlotSignature(data, run.value, pub.key, opts.scheme);
  onEvent({ kind: "verified", fingerprint: pub.fingerprint.sha256 });
  await writeFilesAtomically([{ path: opts.out, data: run.value, mode: PUBLIC_KEY_MODE }], {
    force: opts.force,
  });
  onEvent({ kind: "written", path: opts.out });
  return {
    slot: opts.slot,
    bits: pub.bits,
    scheme: opts.scheme,
    file: opts.file,
    sha256: digest.toString("hex"),
    signaturePath: opts.out,
    signatureBytes: run.value.length,
    fingerprint: pub.fingerprint.sha256,
    deviceElapsedMs: run.status.elapsedMs,
    released: run.released,
  };
}
