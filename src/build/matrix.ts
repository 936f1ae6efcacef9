/**
 * --matrix: every target with hardware MPI on and off (the other toggles as given), one build
 * folder each, ESP-IDF looked up once. Stops at the first failure (its error says which build).
 */
import { TARGET_NAMES, type TargetName } from "../targets.js";
import { type BuildResult, type IdfBuildOptions, idfBuild } from "./idf-build.js";
import { findIdf } from "./idf-env.js";
import { type MatrixRow, mpiDifference } from "./size-report.js";

export interface MatrixResult {
  builds: BuildResult[];
  rows: MatrixRow[];
  /** Per target: image bytes with hardware MPI minus without. */
  hwMpiDelta: Record<string, number>;
}

export async function idfMatrix(
  o: Omit<IdfBuildOptions, "target" | "runner"> & { targets?: readonly TargetName[] },
): Promise<MatrixResult> {
  const runner = await findIdf({ docker: o.docker, env: o.env });
  const builds: BuildResult[] = [];
  const rows: MatrixRow[] = [];
  for (const target of o.targets ?? TARGET_NAMES) {
    for (const hwMpi of [true, false]) {
      const r = await idfBuild({ ...o, target, runner, toggles: { ...o.toggles, hwMpi } });
      builds.push(r);
      rows.push({ target, hwMpi, size: r.manifest.app });
    }
  }
  return { builds, rows, hwMpiDelta: mpiDifference(rows) };
}
