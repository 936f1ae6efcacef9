/** `rsagen info` at run time: connects to the firmware and renders what it reports. */
import type { Command } from "commander";
import { contextFor } from "../context.js";
import type { InfoOptions } from "../info.js";

const FEATURE_NAMES = [
  "crypto-extra",
  "hw-mpi",
  "inline-keygen",
  "host-build",
  "download-reboot",
  "key-slots",
  "slot-csr",
];
const STATES = ["idle", "running", "done (not released)", "failed (not released)", "cancelled"];

/** Where kept keys live and whether the chip protects them at rest (docs/key-slots.md). */
function storageLines(info: import("../../keygen/board.js").DeviceInfo): string[] {
  const s = info.storage;
  if (!s) return [];
  return [
    `key slots: ${s.partition ? `${s.slotsUsed} of ${s.slotsCapacity} used` : "no key partition in flash"}`,
    `flash encryption: ${s.flashEncryption ? `on (key partition ${s.encrypted ? "encrypted" : "NOT encrypted"})` : "off (kept keys are plain text in flash)"}`,
    `secure boot: ${s.secureBoot ? "on" : "off"}`,
  ];
}

export async function run(raw: InfoOptions, cmd: Command): Promise<void> {
  const { settings, out } = contextFor(cmd);
  // No --port: the one board found on USB (E_NO_PORT for none or several), as rsagen flash does.
  const port = settings.port ?? (await (await import("../../serial/ports.js")).resolvePort(undefined)).path;
  const { openBoard } = await import("../../keygen/session.js");
  const { connectBoard, slowMbedtls } = await import("../../keygen/connect.js");
  const { resetReasonName } = await import("../../keygen/watch.js");
  const s = await openBoard(port, settings.baud ?? 115200);
  try {
    const { info, reset } = await connectBoard(s.board, { forceReset: Boolean(raw.reset) }, (ev) => {
      if (ev.kind === "boot-log") out.debug(`| ${ev.line}`);
    });
    const features = FEATURE_NAMES.filter((_, i) => info.features & (1 << i));
    if (slowMbedtls(info)) {
      out.warn(
        `${info.mbedtlsVersion}: RSA keygen is about 10x slower on MCUs since Mbed TLS 3.6.7 (Mbed-TLS/mbedtls#10830)`,
      );
    }
    const lastReset = info.resetReason !== undefined ? resetReasonName(info.resetReason) : undefined;
    out.result({ port, reset, ...info, featureNames: features, ...(lastReset ? { lastReset } : {}) }, () =>
      [
        `firmware:  rsagen ${info.firmwareVersion} (protocol v${info.protoVersion})`,
        `target:    ${info.target}`,
        `features:  ${features.join(", ") || "none"}`,
        `key sizes: ${info.minBits}..${info.maxBits} bits`,
        `ESP-IDF:   ${info.idfVersion}, ${info.mbedtlsVersion}`,
        `free heap: ${info.freeHeap} bytes (largest block ${info.largestFreeBlock})`,
        `watchdog:  ${info.wdtTimeoutMs} ms`,
        ...(lastReset ? [`last reset: ${lastReset}`] : []),
        `key job:   ${STATES[info.jobState] ?? info.jobState}`,
        ...storageLines(info),
      ].join("\n"),
    );
  } finally {
    await s.close();
  }
}
