/** `rsagen slot list|show|delete`: the board's key slots, no job involved. */
import type { SlotDeleted, SlotList } from "../device/messages.js";
import { RsagenError } from "../errors.js";
import type { DeviceInfo } from "../keygen/board.js";
import { pemEncode } from "../keys/pem.js";
import { type SlotBoard, slotRefusal } from "./board.js";
import { connectSlots, type SlotConnectEvent } from "./connect.js";
import { slotPublicKey } from "./verify.js";

export async function listSlots(
  board: SlotBoard,
  onEvent?: (ev: SlotConnectEvent) => void,
): Promise<{ info: DeviceInfo; list: SlotList }> {
  const info = await connectSlots(board, "slots", {}, onEvent);
  return { info, list: await board.slotList() };
}

export interface ShownSlot {
  name: string;
  bits: number;
  exponent: number;
  seq: number;
  fingerprint: string;
  fingerprintHex: string;
  publicKeyPem: string;
  publicKeyDer: Buffer;
}

/** A slot's public key, checked: the SHA-256 the board sent, an RSA key of the size it says. */
export async function showSlot(
  board: SlotBoard,
  name: string,
  onEvent?: (ev: SlotConnectEvent) => void,
): Promise<ShownSlot> {
  await connectSlots(board, "slots", {}, onEvent);
  const s = await board.slotInfo(name).catch((err: unknown) => Promise.reject(slotRefusal(err, name)));
  const digest = (await import("node:crypto")).createHash("sha256").update(s.pub).digest("hex");
  if (digest !== s.pubSha256)
    throw new RsagenError(
      "E_KEY_VERIFY_FAILED",
      `the public key of slot ${name} does not match the SHA-256 the board sent with it`,
      "retry; the line corrupts data",
    );
  const pub = slotPublicKey(s.pub, { bits: s.bits });
  return {
    name: s.name,
    bits: pub.bits,
    exponent: Number(pub.exponent),
    seq: s.seq,
    fingerprint: pub.fingerprint.sha256,
    fingerprintHex: pub.fingerprint.sha256Hex,
    publicKeyPem: pemEncode("PUBLIC KEY", pub.spkiDer).toString("latin1"),
    publicKeyDer: pub.spkiDer,
  };
}

export async function deleteSlot(
  board: SlotBoard,
  name: string,
  onEvent?: (ev: SlotConnectEvent) => void,
): Promise<SlotDeleted> {
  await connectSlots(board, "slots", {}, onEvent);
  return board.slotDelete(name).catch((err: unknown) => Promise.reject(slotRefusal(err, name)));
}
