/**
 * The `rsagen sim --fault name=value` knobs: user-facing name, the BoardFaults field it sets and its
 * help line. No schemas here (fault-spec.ts pairs each knob with its zod schema), so that
 * `rsagen sim --help` can list the knobs without loading zod or the board.
 */
import type { BoardFaults } from "./board.js";

/** User name -> BoardFaults field and help. Order is the order of `rsagen sim --help`. */
export const FAULT_KNOB_DOCS = {
  noise: { key: "noiseRate", help: "per byte: insert a random byte after it" },
  bitflip: { key: "bitFlipRate", help: "per byte: flip one random bit" },
  drop: { key: "dropRate", help: "per byte: lose it" },
  direction: { key: "direction", help: "which way noise/bitflip/drop hit (default both)" },
  seed: { key: "seed", help: "seed of the fault PRNG (default 1), to replay a run" },
  "reset-after-rx": { key: "resetAfterRxBytes", help: "EN reset once N bytes reached the chip" },
  "power-loss-after-rx": { key: "powerLossAfterRxBytes", help: "power cut once N bytes reached the chip" },
  "reset-at": { key: "resetAtMs", help: "EN reset N ms after start" },
  "power-loss-at": { key: "powerLossAtMs", help: "power cut N ms after start" },
  "power-off": { key: "powerOffMs", help: "how long power stays off (default 200 ms)" },
  "flash-stuck-after": {
    key: "flashStuckAfterBytes",
    help: "flash programming hangs after N bytes (loader stops answering until reset)",
  },
} as const satisfies Record<string, { key: keyof BoardFaults; help: string }>;

export type FaultKnobName = keyof typeof FAULT_KNOB_DOCS;

/** One line per knob for --help. */
export function faultKnobsHelp(): string {
  const w = Math.max(...Object.keys(FAULT_KNOB_DOCS).map((k) => k.length));
  return Object.entries(FAULT_KNOB_DOCS)
    .map(([name, k]) => `  ${name.padEnd(w)}  ${k.help}`)
    .join("\n");
}
