/** A loaded build folder (src/build/manifest.ts) as the flash planner's input. */
import { basename } from "node:path";
import { type LoadedManifest, loadManifest } from "../build/manifest.js";
import { type FlashPlan, planFlash } from "./plan.js";

export function planFromManifest(m: LoadedManifest): FlashPlan {
  return planFlash({
    target: m.manifest.target,
    flash: m.manifest.flash,
    files: m.files.map((f) => ({ name: basename(f.path), offset: f.offset, data: f.data, role: f.role })),
  });
}

export function planFromBuildDir(dir: string): FlashPlan {
  return planFromManifest(loadManifest(dir));
}
