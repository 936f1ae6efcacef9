/** One-line descriptions of protocol frames for `rsagen monitor` (compact, human-first). */
import type { Frame } from "../device/frame.js";
import { decodeDeviceFrame } from "../device/messages.js";
import { resetReasonName } from "./watch.js";

export function describeFrame(f: Frame): string {
  const id = f.requestId ? ` #${f.requestId}` : "";
  let body: string;
  try {
    const m = decodeDeviceFrame(f);
    switch (m.kind) {
      case "boot":
        body = `BOOT ${m.boot.target} fw ${m.boot.firmwareVersion} (${resetReasonName(m.boot.resetReason)})`;
        break;
      case "progress":
        body = `PROGRESS job ${m.progress.jobId} ${(m.progress.elapsedMs / 1000).toFixed(1)} s ${m.progress.rngCalls} rng`;
        break;
      case "done":
      case "failed":
      case "status":
        body = `${m.kind.toUpperCase()} job ${m.status.jobId} ${m.status.state} ${m.status.bits} bits ${(m.status.elapsedMs / 1000).toFixed(1)} s${m.status.privLen ? ` priv ${m.status.privLen} B pub ${m.status.pubLen} B` : ""}${m.status.mbedtlsError ? ` err ${m.status.mbedtlsError}` : ""}`;
        break;
      case "hello":
        body = `HELLO v${m.info.protoVersion} ${m.info.target} fw ${m.info.firmwareVersion} job ${m.info.jobState}`;
        break;
      case "ping":
        body = `PING ${m.data.length} B`;
        break;
      case "keygen":
        body = `KEYGEN accepted job ${m.jobId}`;
        break;
      case "cancel":
      case "release":
        body = `${m.kind.toUpperCase()} job ${m.end.jobId} (was ${m.end.prevState})`;
        break;
      case "read":
        body = `READ ${m.chunk.part}@${m.chunk.offset} ${m.chunk.data.length} B`;
        break;
      case "reboot":
        body = "REBOOT ok";
        break;
      case "error":
        body = `ERROR ${m.error.name}${m.error.message ? ` "${m.error.message}"` : ""}`;
        break;
      default:
        body = `type 0x${f.type.toString(16)} ${f.payload.length} B`;
    }
  } catch {
    body = `type 0x${f.type.toString(16)} ${f.payload.length} B (undecodable)`;
  }
  return `\u00ab${body}${id}\u00bb`;
}
