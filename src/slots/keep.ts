/**
 * `rsagen keygen --keep`: the board generates a key pair and keeps the private key in a key slot;
 * only the public key comes back. It is read in CRC-checked chunks, checked against the SHA-256 the
 * board reported and against the requested size and exponent, and written as a public key file.
 */

import { RsagenError } from "../errors.js";
import type { DeviceInfo } from "../keygen/board.js";
import { requireKeygenSupport, slowMbedtls } from "../keygen/connect.js";
import { readPart } from "../keygen/readback.js";
import type { KeyFileFormat } from "../keys/encode.js";
import { keyFilePaths } from "../keys/naming.js";
import { pemEncode } from "../keys/pem.js";
import { PUBLIC_KEY_MODE } from "../keys/save.js";
import { assertTargetsFree, writeFilesAtomically } from "../keys/write.js";
import { type SlotBoard, slotRefusal } from "./board.js";
import { connectSlots, requireIdle, type SlotConnectEvent } from "./connect.js";
import { runSlotJob, type SlotJobEvent, type SlotJobOptions } from "./job.js";
import { slotPublicKey } from "./verify.js";

export interface KeepOptions extends SlotJobOptions {
  bits: number;
  exponent: number;
  slot: string;
  /** Replace the key of an existing slot (and overwrite the public key file). */
  force: boolean;
  save: { out: string; prefix: string | undefined; format: KeyFileFormat; cwd?: string };
  bootWaitMs?: number;
}

export type KeepEvent =
  | SlotConnectEvent
  | SlotJobEvent
  | { kind: "warning"; message: string }
  | { kind: "readback"; part: "public"; bytes: number; total: number }
  | { kind: "verified"; fingerprint: string }
  | { kind: "written"; publicPath: string };

export interface KeepResult {
  slot: string;
  bits: number;
  exponent: number;
  jobId: number;
  target: string;
  firmwareVersion: string;
  publicPath: string;
  fingerprint: string;
  fingerprintHex: string;
  deviceElapsedMs: number;
  released: boolean;
  storage: DeviceInfo["storage"];
}

export async function runKeep(
  board: SlotBoard,
  opts: KeepOptions,
  onEvent: (ev: KeepEvent) => void = () => {},
): Promise<KeepResult> {
  const naming = { ...opts.save, bits: opts.bits };
  if (opts.save.prefix !== undefined && !opts.force) {
    await assertTargetsFree([keyFilePaths({ ...naming, fingerprintHex: "" }).publicPath], false);
  }
  const info = await connectSlots(board, "slots", opts, onEvent);
  requireKeygenSupport(info, opts.bits);
  requireIdle(info);
  if (slowMbedtls(info)) {
    onEvent({
      kind: "warning",
      message: `${info.mbedtlsVersion}: RSA keygen is about 10x slower on MCUs since Mbed TLS 3.6.7 (Mbed-TLS/mbedtls#10830); a long --timeout may be needed`,
    });
  }
  if (info.storage && !info.storage.flashEncryption) {
    onEvent({
      kind: "warning",
      message:
        "flash encryption is off on this board: the kept private key is stored in plain text in its flash (docs/key-slots.md)",
    });
  }
  const frameMs = board.baud ? (1037 * 10 * 1000) / board.baud : 100;
  const readTimeoutMs = Math.max(500, Math.round(5 * frameMs + 250));
  const run = await runSlotJob(
    board,
    "keep",
    () =>
      board
        .keep({ bits: opts.bits, exponent: opts.exponent, name: opts.slot, replace: opts.force })
        .catch((err: unknown) => Promise.reject(slotRefusal(err, opts.slot))),
    async (status) => {
      if (status.privateLength !== 0 || status.publicLength <= 0 || status.publicLength > 1024) {
        throw new RsagenError(
          "E_DEVICE_PROTOCOL",
          `the board's kept-key status is inconsistent (private ${status.privateLength}, public ${status.publicLength} bytes)`,
          "reset the board and try again",
        );
      }
      const der = await readPart(board, "pub", status.publicLength, status.publicSha256, {
        readTimeoutMs,
        onChunk: (done, total) => onEvent({ kind: "readback", part: "public", bytes: done, total }),
      });
      return slotPublicKey(der, { bits: opts.bits, exponent: opts.exponent });
    },
    opts,
    onEvent,
  );
  const pub = run.value;
  onEvent({ kind: "verified", fingerprint: pub.fingerprint.sha256 });
  const { publicPath } = keyFilePaths({ ...naming, fingerprintHex: pub.fingerprint.sha256Hex });
  const data = opts.save.format === "der" ? pub.spkiDer : pemEncode("PUBLIC KEY", pub.spkiDer);
  await writeFilesAtomically([{ path: publicPath, data, mode: PUBLIC_KEY_MODE }], { force: opts.force });
  onEvent({ kind: "written", publicPath });
  return {
    slot: opts.slot,
    bits: opts.bits,
    exponent: opts.exponent,
    jobId: run.jobId,
    target: info.target,
    firmwareVersion: info.firmwareVersion,
    publicPath,
    fingerprint: pub.fingerprint.sha256,
    fingerprintHex: pub.fingerprint.sha256Hex,
    deviceElapsedMs: run.status.elapsedMs,
    released: run.released,
    storage: info.storage,
  };
}
