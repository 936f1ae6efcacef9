/**
 * `rsagen sim --fault name=value`: the board's fault knobs (BoardFaults) as short user-facing names,
 * each validated with zod. Pure: parses strings, throws a one-line E_USAGE RsagenError.
 */
import { z } from "zod";
import { RsagenError } from "../errors.js";
import type { BoardFaults } from "./board.js";

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

/** User name -> BoardFaults field. Order is the order of `rsagen sim --help`. */
export const FAULT_KNOBS: Record<string, Knob> = {
  noise: { key: "noiseRate", schema: rate, help: "per byte: insert a random byte after it" },
  bitflip: { key: "bitFlipRate", schema: rate, help: "per byte: flip one random bit" },
  drop: { key: "dropRate", schema: rate, help: "per byte: lose it" },
  direction: {
    key: "direction",
    schema: z.enum(["both", "to-chip", "from-chip"], "use both, to-chip or from-chip"),
    help: "which way noise/bitflip/drop hit (default both)",
  },
  seed: { key: "seed", schema: count, help: "seed of the fault PRNG (default 1), to replay a run" },
  "reset-after-rx": {
    key: "resetAfterRxBytes",
    schema: count,
    help: "EN reset once N bytes reached the chip",
  },
  "power-loss-after-rx": {
    key: "powerLossAfterRxBytes",
    schema: count,
    help: "power cut once N bytes reached the chip",
  },
  "reset-at": { key: "resetAtMs", schema: ms, help: "EN reset N ms after start" },
  "power-loss-at": { key: "powerLossAtMs", schema: ms, help: "power cut N ms after start" },
  "power-off": { key: "powerOffMs", schema: ms, help: "how long power stays off (default 200 ms)" },
  "flash-stuck-after": {
    key: "flashStuckAfterBytes",
    schema: count,
    help: "flash programming hangs after N bytes (loader stops answering until reset)",
  },
};

const HINT = `knobs: ${Object.keys(FAULT_KNOBS).join(", ")}; e.g. --fault noise=1e-4 --fault reset-after-rx=5000`;

/** Parses repeated `--fault name=value` options; a later value of the same knob wins. */
export function parseFaultSpecs(specs: readonly string[]): BoardFaults {
  const faults: Record<string, unknown> = {};
  for (const spec of specs) {
    const eq = spec.indexOf("=");
    const name = (eq < 0 ? spec : spec.slice(0, eq)).trim().toLowerCase();
    const knob = FAULT_KNOBS[name];
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

/** One line per knob for --help. */
export function faultKnobsHelp(): string {
  const w = Math.max(...Object.keys(FAULT_KNOBS).map((k) => k.length));
  return Object.entries(FAULT_KNOBS)
    .map(([name, k]) => `  ${name.padEnd(w)}  ${k.help}`)
    .join("\n");
}
