/**
 * A build folder as the flash planner's input. rsagen's own builds carry rsagen.json (sizes and
 * SHA-256 of each file, checked by loadManifest); any other ESP-IDF build folder has only ESP-IDF's
 * flasher_args.json, which is the contract `idf.py flash` itself reads
 * (components/esptool_py/flasher_args.json.in, ESP-IDF v5.5.5): the chip, the flash settings and
 * every file at its offset (bootloader, partition table, app, and e.g. ota_data_initial.bin).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import {
  FILE_ROLES,
  FLASHER_ARGS_FILE,
  flasherArgsSchema,
  type LoadedManifest,
  loadManifest,
  MANIFEST_FILE,
} from "../build/manifest.js";
import { RsagenError } from "../errors.js";
import { TARGET_NAMES, type TargetName } from "../targets.js";
import { type FlashPlan, type PlanFile, planFlash } from "./plan.js";

export function planFromManifest(m: LoadedManifest): FlashPlan {
  return planFlash({
    target: m.manifest.target,
    flash: m.manifest.flash,
    files: m.files.map((f) => ({ name: basename(f.path), offset: f.offset, data: f.data, role: f.role })),
  });
}

/** Plans a folder that has ESP-IDF's flasher_args.json but no rsagen.json. */
export function planFromFlasherArgs(dir: string): FlashPlan {
  const file = join(dir, FLASHER_ARGS_FILE);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new RsagenError(
      "E_NO_MANIFEST",
      `${file}: not valid JSON (${(err as Error).message})`,
      "rebuild the project (idf.py build)",
    );
  }
  const parsed = flasherArgsSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new RsagenError(
      "E_NO_MANIFEST",
      `${file}: ${i?.path.join(".") || "(top level)"}: ${i?.message}`,
      "is this an ESP-IDF build folder? rebuild it with idf.py build",
    );
  }
  const fa = parsed.data;
  const chip = fa.extra_esptool_args.chip;
  if (!(TARGET_NAMES as readonly string[]).includes(chip)) {
    throw new RsagenError(
      "E_BAD_IMAGE",
      `${file} is a build for ${chip}; rsagen flashes ${TARGET_NAMES.join(", ")}`,
      "build the project for one of those targets",
    );
  }
  const roleAt = new Map<string, string>();
  for (const role of FILE_ROLES) {
    const entry = fa[role];
    if (entry) roleAt.set(entry.offset.toLowerCase(), role);
  }
  const files: PlanFile[] = Object.entries(fa.flash_files).map(([offset, name]) => {
    const path = resolve(dir, name);
    if (!existsSync(path)) {
      throw new RsagenError(
        "E_NO_MANIFEST",
        `${path} is missing (listed in ${FLASHER_ARGS_FILE} at ${offset})`,
        "rebuild the project (idf.py build)",
      );
    }
    const role = roleAt.get(offset.toLowerCase());
    return {
      name: basename(name),
      offset: Number(offset),
      data: new Uint8Array(readFileSync(path)),
      ...(role ? { role } : {}),
    };
  });
  return planFlash({
    target: chip as TargetName,
    flash: {
      size: fa.flash_settings.flash_size,
      mode: fa.flash_settings.flash_mode,
      freq: fa.flash_settings.flash_freq,
    },
    files,
  });
}

export function planFromBuildDir(dir: string): FlashPlan {
  if (existsSync(join(dir, MANIFEST_FILE))) return planFromManifest(loadManifest(dir));
  if (existsSync(join(dir, FLASHER_ARGS_FILE))) return planFromFlasherArgs(dir);
  throw new RsagenError(
    "E_NO_MANIFEST",
    `no build in ${dir}: neither ${MANIFEST_FILE} nor ESP-IDF's ${FLASHER_ARGS_FILE}`,
    "run `rsagen build --target <t>` (or --host) first, or pass an ESP-IDF build folder with --build-dir",
  );
}
