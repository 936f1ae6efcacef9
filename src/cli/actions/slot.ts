/** `rsagen slot list|show|delete` at run time. */
import type { Command } from "commander";
import { slotNameSchema } from "../../device/messages.js";
import { contextFor } from "../context.js";
import { parseOption } from "../options.js";
import type { SlotShowOptions } from "../slot.js";
import { formatSchema } from "./keygen.js";
import { slotEvents, slotPort, withSlotBoard } from "./slot-session.js";

const nameOf = (name: string) =>
  parseOption(slotNameSchema, name, "slot name", "e.g. device, backup-1, tls.2026");

function storageLine(info: import("../../keygen/board.js").DeviceInfo): string {
  const s = info.storage;
  if (!s) return "storage:   (firmware reports none)";
  const enc = s.flashEncryption
    ? `flash encryption on, partition ${s.encrypted ? "encrypted" : "NOT encrypted"}`
    : "flash encryption OFF: kept keys are plain text in flash (docs/key-slots.md)";
  return `storage:   ${enc}${s.secureBoot ? ", secure boot on" : ""}`;
}

export async function list(_opts: Record<string, never>, cmd: Command): Promise<void> {
  const { settings, out } = contextFor(cmd);
  const port = await slotPort(settings);
  const { listSlots } = await import("../../slots/manage.js");
  const { info, list: l } = await withSlotBoard(port, settings, (b) => listSlots(b, slotEvents(out, "list")));
  out.result({ port, target: info.target, storage: info.storage ?? null, ...l }, () => {
    const w = Math.max(4, ...l.slots.map((s) => s.name.length));
    return [
      `${l.total} of ${l.capacity} key slots used on ${port} (${info.target}), ${l.free} free, partition ${l.partitionSize / 1024} KiB`,
      storageLine(info),
      ...(l.slots.length ? [`  ${"name".padEnd(w)}  bits  record`] : []),
      ...l.slots.map((s) => `  ${s.name.padEnd(w)}  ${String(s.bits).padStart(4)}  #${s.seq}`),
    ].join("\n");
  });
}

export async function show(name: string, raw: SlotShowOptions, cmd: Command): Promise<void> {
  const { settings, out } = contextFor(cmd);
  const slot = nameOf(name);
  const format = parseOption(formatSchema, raw.format ?? "pem", "--format", "use pem or der");
  const port = await slotPort(settings);
  const { showSlot } = await import("../../slots/manage.js");
  if (raw.out) await (await import("../../keys/write.js")).assertTargetsFree([raw.out], Boolean(raw.force));
  const s = await withSlotBoard(port, settings, (b) => showSlot(b, slot, slotEvents(out, "show")));
  if (raw.out) {
    const { writeFilesAtomically } = await import("../../keys/write.js");
    const data = format === "der" ? s.publicKeyDer : Buffer.from(s.publicKeyPem, "latin1");
    await writeFilesAtomically([{ path: raw.out, data, mode: 0o644 }], { force: Boolean(raw.force) });
  }
  const { publicKeyDer: _der, ...json } = s;
  out.result({ port, ...json, ...(raw.out ? { path: raw.out } : {}) }, () =>
    [
      `slot ${s.name}: ${s.bits}-bit RSA, e=${s.exponent}, record #${s.seq}`,
      `fingerprint: ${s.fingerprint}`,
      ...(raw.out ? [`written: ${raw.out}`] : []),
      s.publicKeyPem.trimEnd(),
    ].join("\n"),
  );
}

export async function remove(name: string, _opts: Record<string, never>, cmd: Command): Promise<void> {
  const { settings, out } = contextFor(cmd);
  const slot = nameOf(name);
  const port = await slotPort(settings);
  const { deleteSlot } = await import("../../slots/manage.js");
  const d = await withSlotBoard(port, settings, (b) => deleteSlot(b, slot, slotEvents(out, "delete")));
  out.result(
    { port, ...d },
    () => `slot ${d.name} deleted on ${port}: its record zeroized and its sector erased`,
  );
}
