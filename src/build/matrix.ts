/**
 * --matrix: every target with hardware MPI on and off, and (when the toggles have them) once more
 * with the key slots left out, so the table shows what the RSA accelerator and the key-slot feature
 * (docs/key-slots.md) cost; the other toggles as given, one build folder each, ESP-IDF looked up
 * once. Stops at the first failure (its error says which build).
 */
import { TARGET_NAMES, type TargetName } from "../targets.js";
import { type BuildResult, type IdfBuildOptions, idfBuild } from "./idf-build.js";
import { findIdf } from "./idf-env.js";
import { type MatrixRow, mpiDifference, slotsDifference } from "./size-report.js";
import { keySlotsOn } from "./toggles.js";

export interface MatrixResult {
  builds: BuildResult[];
  rows: MatrixRow[];
  /** Per target: image bytes with hardware MPI minus without. */
  hwMpiDelta: Record<string, number>;
  /** Per target: image bytes with the key slots (KEEP, SLOT_*, SIGN, CSR) minus without. */
  keySlotsDelta: Record<string, number>;
}

export async function idfMatrix(
  o: Omit<IdfBuildOptions, "target" | "runner"> & { targets?: readonly TargetName[] },
): Promise<MatrixResult> {
  const runner = await findIdf({ docker: o.docker, env: o.env });
  const builds: BuildResult[] = [];
  const rows: MatrixRow[] = [];
  for (const target of o.targets ?? TARGET_NAMES) {
    const slots = keySlotsOn(o.toggles);
    const sets = [
      { hwMpi: true, keySlots: slots },
      { hwMpi: false, keySlots: slots },
      ...(slots ? [{ hwMpi: true, keySlots: false }] : []),
    ];
    for (const set of sets) {
      const r = await idfBuild({ ...o, target, runner, toggles: { ...o.toggles, ...set } });
      builds.push(r);
      rows.push({ target, ...set, size: r.manifest.app });
    }
  }
  return { builds, rows, hwMpiDelta: mpiDifference(rows), keySlotsDelta: slotsDifference(rows) };
}
