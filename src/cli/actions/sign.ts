/** `rsagen sign` at run time. */
import type { Command } from "commander";
import { z } from "zod";
import { SIGN_SCHEMES, slotNameSchema } from "../../device/messages.js";
import { contextFor } from "../context.js";
import { parseOption, timeoutSchema } from "../options.js";
import type { SignOptions } from "../sign.js";
import { slotEvents, slotPort, withInterrupt, withSlotBoard } from "./slot-session.js";

export async function run(file: string, raw: SignOptions, cmd: Command): Promise<void> {
  const { settings, out } = contextFor(cmd);
  const slot = parseOption(slotNameSchema, raw.slot ?? "device", "--slot", "e.g. --slot device");
  const scheme = parseOption(z.enum(SIGN_SCHEMES), raw.scheme ?? "pss", "--scheme", "use pss or pkcs1");
  const timeoutMs = parseOption(timeoutSchema, raw.timeout ?? "2m", "--timeout", "e.g. --timeout 90s");
  const sigPath = raw.out ?? `${file}.sig`;
  const port = await slotPort(settings);
  const { runSign } = await import("../../slots/sign.js");
  const r = await withInterrupt((signal) =>
    withSlotBoard(port, settings, (b) =>
      runSign(
        b,
        { slot, file, scheme, out: sigPath, force: Boolean(raw.force), timeoutMs, signal },
        slotEvents(out, "signing"),
      ),
    ),
  );
  out.result({ port, ...r }, () =>
    [
      `${file} signed by slot ${r.slot} (${r.bits}-bit RSA, ${scheme === "pss" ? "RSASSA-PSS" : "PKCS#1 v1.5"}, SHA-256) on ${port}, verified`,
      `  signature: ${r.signaturePath} (${r.signatureBytes} bytes)`,
      `  sha256:    ${r.sha256}`,
      `  key fingerprint: ${r.fingerprint}`,
      ...(r.released ? [] : ["  warning: the board did not confirm it released the job; reset it"]),
    ].join("\n"),
  );
}
