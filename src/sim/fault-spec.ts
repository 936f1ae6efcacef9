/**
 * `rsagen sim --fault name=value`: the board's fault knobs (BoardFaults) as short user-facing names,
 * each validated with zod. Pure: parses strings, throws a one-line E_USAGE RsagenError.
 */
import { z } from "zod";
import { RsagenError } from "../errors.js";
import type { BoardFaults } from "./board.js";
import { FAULT_KNOB_DOCS, type FaultKnobName } from "./fault-knobs.js";

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?$/i;

const num = z.string().transform((v, ctx) => {
  if (!NUMBER.test(v.trim())) {
    ctx.addIssue({ code: "custom", message: `'${v}' is not a number` });
    return z.NEVER;
  }
  return Number(v);
});
const rate = num.pipe(z.number().min(0, "a rate is 0..1").max(1, "a rate is 0..1 (per byte)"));
const count = num.pipe(z.number().int("a whole number is needed").min(0).max(Number.MAX_SAFE_INTEGER));
const ms = num.pipe(
  z
    .number()
    .int("give whole milliseconds")
    .min(0)
    .max(24 * 3600_000),
);

interface Knob {
  key: keyof BoardFaults;
  schema: z.ZodType<unknown, string>;
  help: string;
}

/** Each knob's value schema; the names, fields and help lines are in fault-knobs.ts. */
const SCHEMAS: Record<FaultKnobName, z.ZodType<unknown, string>> = {
  noise: rate,
  bitflip: rate,
  drop: rate,
  direction: z.enum(["both", "to-chip", "from-chip"], "use both, to-chip or from-chip"),
  seed: count,
  "reset-after-rx": count,
  "power-loss-after-rx": count,
  "reset-at": ms,
  "power-loss-at": ms,
  "power-off": ms,
  "flash-stuck-after": count,
};

/** User name -> BoardFaults field, schema and help. Order is the order of `rsagen sim --help`. */
export const FAULT_KNOBS: Record<string, Knob> = Object.fromEntries(
  Object.entries(FAULT_KNOB_DOCS).map(([name, doc]) => [
    name,
    { key: doc.key, help: doc.help, schema: SCHEMAS[name as FaultKnobName] },
  ]),
);

const HINT = `knobs: ${Object.keys(FAULT_KNOBS).join(", ")}; e.g. --fault noise=1e-4 --fault reset-after-rx=5000`;

/** Parses repeated `--fault name=value` options; a later value of the same knob wins. */
export function parseFaultSpecs(specs: readonly string[]): BoardFaults {
  const faults: Record<string, unknown> = {};
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const name = (eq < 0 ? spec : spec.slice(0, eq)).trim().toLowerCase();
    const knob = Object.hasOwn(FAULT_KNOBS, name) ? FAULT_KNOBS[name] : undefined; // not 'constructor'
    if (!knob) throw new RsagenError("E_USAGE", `--fault ${spec}: unknown fault '${name}'`, HINT);
    if (eq < 0) throw new RsagenError("E_USAGE", `--fault ${spec}: expected ${name}=<value>`, HINT);
    const r = knob.schema.safeParse(spec.slice(eq + 1).trim());
    if (!r.success) {
      const msg = r.error.issues[0]?.message ?? "invalid value";
      throw new RsagenError("E_USAGE", `--fault ${spec}: ${msg}`, `${name}: ${knob.help}`);
    }
    faults[knob.key] = r.data;
  }
  return faults as BoardFaults;
}
