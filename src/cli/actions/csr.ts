/** `rsagen csr` at run time. */
import type { Command } from "commander";
import { slotNameSchema } from "../../device/messages.js";
import { RsagenError } from "../../errors.js";
import { contextFor } from "../context.js";
import type { CsrOptions } from "../csr.js";
import { parseOption, timeoutSchema } from "../options.js";
import { formatSchema } from "./keygen.js";
import { slotEvents, slotPort, withInterrupt, withSlotBoard } from "./slot-session.js";

export async function run(raw: CsrOptions, cmd: Command): Promise<void> {
  const { settings, out } = contextFor(cmd);
  const slot = parseOption(slotNameSchema, raw.slot ?? "device", "--slot", "e.g. --slot device");
  if (raw.subject === undefined)
    throw new RsagenError("E_USAGE", "--subject is required", 'e.g. --subject "CN=device-42,O=Example Ltd"');
  const { parseSan, parseSubject, runCsr } = await import("../../slots/csr.js");
  const subject = parseSubject(raw.subject);
  const sans = raw.san.map(parseSan);
  if (sans.length > 16) throw new RsagenError("E_USAGE", `${sans.length} --san values; the board takes 16`);
  const format = parseOption(formatSchema, raw.format ?? "pem", "--format", "use pem or der");
  const timeoutMs = parseOption(timeoutSchema, raw.timeout ?? "2m", "--timeout", "e.g. --timeout 90s");
  const file = raw.out ?? `${slot}.csr.${format}`;
  const port = await slotPort(settings);
  const r = await withInterrupt((signal) =>
    withSlotBoard(port, settings, (b) =>
      runCsr(
        b,
        { slot, subject, sans, out: file, format, force: Boolean(raw.force), timeoutMs, signal },
        slotEvents(out, "CSR"),
      ),
    ),
  );
  out.result({ port, ...r }, () =>
    [
      `CSR for slot ${r.slot} (${r.bits}-bit RSA) built on ${port} in ${r.deviceElapsedMs} ms, signature and key verified`,
      `  subject: ${r.subject}`,
      `  written: ${r.path}`,
      `  key fingerprint: ${r.fingerprint}`,
      ...(r.released ? [] : ["  warning: the board did not confirm it released the job; reset it"]),
    ].join("\n"),
  );
}
