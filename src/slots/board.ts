/**
 * What the key-slot commands need from a board: the keygen Board (jobs, READ, events) plus the
 * slot requests (docs/protocol.md section 3, "Key slots"). ClientBoard (src/keygen/client-board.ts)
 * implements both over the DeviceClient.
 */

import { DeviceRequestError } from "../device/client.js";
import type {
  CsrRequest,
  KeepRequest,
  SignRequest,
  SlotDeleted,
  SlotInfo,
  SlotList,
} from "../device/messages.js";
import { DeviceErrorCode } from "../device/messages.js";
import { RsagenError } from "../errors.js";
import { type Board, type DeviceInfo, Feature, type RequestOptions } from "../keygen/board.js";

export interface SlotBoard extends Board {
  keep(req: KeepRequest, opts?: RequestOptions): Promise<number>;
  /** Every slot (the pages of SLOT_LIST). */
  slotList(opts?: RequestOptions): Promise<SlotList>;
  slotInfo(name: string, opts?: RequestOptions): Promise<SlotInfo>;
  slotDelete(name: string, opts?: RequestOptions): Promise<SlotDeleted>;
  csr(req: CsrRequest, opts?: RequestOptions): Promise<number>;
  sign(req: SignRequest, opts?: RequestOptions): Promise<number>;
}

/**
 * A device refusal about a named slot, reworded with the name (the device's own words stay in the
 * cause); anything else unchanged.
 */
export function slotRefusal(err: unknown, slot: string): unknown {
  if (!(err instanceof DeviceRequestError)) return err;
  switch (err.device.code) {
    case DeviceErrorCode.SLOT_NOT_FOUND:
      return new RsagenError(
        "E_SLOT_NOT_FOUND",
        `no key slot named ${slot} on the board`,
        "rsagen slot list shows the slots",
        {
          cause: err,
        },
      );
    case DeviceErrorCode.SLOT_EXISTS:
      return new RsagenError(
        "E_SLOT_EXISTS",
        `slot ${slot} already holds a key; nothing was generated`,
        "choose another --slot, or --force to replace its key",
        { cause: err },
      );
    case DeviceErrorCode.SLOTS_FULL:
      return new RsagenError(
        "E_SLOTS_FULL",
        `the board's key partition is full; slot ${slot} does not fit`,
        "delete a slot first (rsagen slot delete NAME)",
        { cause: err },
      );
    default:
      return err;
  }
}

/** Checks that the firmware has key slots (and, for `csr`, CSRs) and found its key partition. */
export function requireSlots(info: DeviceInfo, what: "slots" | "csr" = "slots"): void {
  if (!(info.features & Feature.KEY_SLOTS)) {
    throw new RsagenError(
      "E_DEVICE_UNSUPPORTED",
      `the firmware on this board (${info.firmwareVersion}, ${info.target}) has no key slots`,
      "rebuild with key slots (rsagen build, without --no-key-slots or --no-crypto-extra) and flash it",
    );
  }
  if (what === "csr" && !(info.features & Feature.SLOT_CSR)) {
    throw new RsagenError(
      "E_DEVICE_UNSUPPORTED",
      `the firmware on this board (${info.firmwareVersion}, ${info.target}) was built without CSR support`,
      "rebuild with CONFIG_RSAGEN_SLOT_CSR=y and flash it",
    );
  }
  if (info.storage && !info.storage.partition) {
    throw new RsagenError(
      "E_NO_SLOT_STORAGE",
      "the firmware finds no key partition (rsagen_keys) in this board's flash",
      "flash this rsagen's build: its partition table has the key partition (rsagen flash)",
    );
  }
}
