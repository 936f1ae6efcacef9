/**
 * What a build leaves for `rsagen flash` and the virtual board: ESP-IDF's flasher_args.json
 * (format of components/esptool_py/flasher_args.json.in, v5.5.5) and rsagen.json (target, toggles,
 * sizes, SHA-256 of each file). Both ESP-IDF and host builds produce the same shape, and
 * loadManifest() checks that the files are still the ones the build wrote.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { RsagenError } from "../errors.js";
import { TARGET_NAMES } from "../targets.js";

export const FLASHER_ARGS_FILE = "flasher_args.json";
export const MANIFEST_FILE = "rsagen.json";

const hexOffset = z.string().regex(/^0x[0-9a-fA-F]+$/, { error: "offset must be a 0x hex string" });
const flasherFile = z.looseObject({
  offset: hexOffset,
  file: z.string(),
  encrypted: z.enum(["true", "false"]),
});

export const flasherArgsSchema = z.looseObject({
  write_flash_args: z.array(z.string()),
  flash_settings: z.looseObject({ flash_mode: z.string(), flash_size: z.string(), flash_freq: z.string() }),
  flash_files: z.record(hexOffset, z.string()),
  bootloader: flasherFile.optional(),
  app: flasherFile.optional(),
  "partition-table": flasherFile.optional(),
  extra_esptool_args: z.looseObject({
    after: z.string(),
    before: z.string(),
    stub: z.boolean(),
    chip: z.string(),
  }),
});
export type FlasherArgs = z.infer<typeof flasherArgsSchema>;

export const FILE_ROLES = ["bootloader", "partition-table", "app"] as const;
export type FileRole = (typeof FILE_ROLES)[number];

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const manifestSchema = z.strictObject({
  schema: z.literal(1),
  kind: z.enum(["idf", "host"]),
  target: z.enum(TARGET_NAMES),
  toggles: z.strictObject({
    hwMpi: z.boolean(),
    cryptoExtra: z.boolean(),
    inlineKeygen: z.boolean(),
    keySlots: z.boolean().optional(),
    taskWdtS: z.number().int().optional(),
  }),
  projectName: z.string(),
  version: z.string(),
  /** ESP-IDF version that built it, or "host". */
  idfVersion: z.string(),
  builtAt: z.string(),
  flash: z.strictObject({ mode: z.string(), size: z.string(), freq: z.string() }),
  files: z
    .array(
      z.strictObject({
        role: z.enum(FILE_ROLES),
        offset: z.number().int().nonnegative(),
        path: z.string(),
        size: z.number().int().nonnegative(),
        sha256: sha256Hex,
      }),
    )
    .min(1),
  app: z.strictObject({
    imageSize: z.number().int(),
    partitionName: z.string(),
    partitionOffset: z.number().int(),
    partitionSize: z.number().int(),
    freeBytes: z.number().int(),
    freePercent: z.number(),
    memory: z.array(z.strictObject({ name: z.string(), used: z.number(), total: z.number() })).optional(),
    totalSize: z.number().optional(),
  }),
  /** Host builds: the executable inside the app image. */
  hostExecutable: z.strictObject({ size: z.number().int(), sha256: sha256Hex }).optional(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes rsagen.json atomically (temp file + rename), after everything it describes exists. */
export function writeManifest(dir: string, m: Manifest): void {
  const checked = manifestSchema.parse(m);
  const tmp = join(dir, `.${MANIFEST_FILE}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(checked, null, 2)}\n`);
  renameSync(tmp, join(dir, MANIFEST_FILE));
}

/** Removes a previous manifest so a failed build never leaves one that describes older files. */
export function removeManifest(dir: string): void {
  rmSync(join(dir, MANIFEST_FILE), { force: true });
}

export interface LoadedFile {
  role: FileRole;
  offset: number;
  /** Absolute path. */
  path: string;
  data: Uint8Array;
  sha256: string;
}

export interface LoadedManifest {
  dir: string;
  manifest: Manifest;
  flasherArgs: FlasherArgs;
  /** In flash order (ascending offset). */
  files: LoadedFile[];
}

function readJson(file: string, what: string): unknown {
  if (!existsSync(file)) {
    throw new RsagenError(
      "E_NO_MANIFEST",
      `no ${what} in ${resolve(file, "..")}`,
      "run `rsagen build --target <t>` (or --host) first",
    );
  }
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new RsagenError(
      "E_NO_MANIFEST",
      `${file}: not valid JSON (${(err as Error).message})`,
      "rebuild with rsagen build",
    );
  }
}

function zodProblem(file: string, e: z.ZodError): RsagenError {
  const i = e.issues[0];
  return new RsagenError(
    "E_NO_MANIFEST",
    `${file}: ${i?.path.join(".") || "(top level)"}: ${i?.message}`,
    "rebuild with rsagen build",
  );
}

/**
 * Loads and checks a build folder: both JSON files valid, offsets agree, every file present with
 * the recorded size and SHA-256. For `rsagen flash` and the virtual board.
 */
export function loadManifest(dir: string): LoadedManifest {
  const mFile = join(dir, MANIFEST_FILE);
  const fFile = join(dir, FLASHER_ARGS_FILE);
  const m = manifestSchema.safeParse(readJson(mFile, MANIFEST_FILE));
  if (!m.success) throw zodProblem(mFile, m.error);
  const f = flasherArgsSchema.safeParse(readJson(fFile, FLASHER_ARGS_FILE));
  if (!f.success) throw zodProblem(fFile, f.error);
  const files: LoadedFile[] = [];
  for (const entry of m.data.files) {
    const listed = f.data.flash_files[`0x${entry.offset.toString(16)}`];
    if (listed !== entry.path) {
      throw new RsagenError(
        "E_NO_MANIFEST",
        `${fFile} and ${MANIFEST_FILE} disagree about offset 0x${entry.offset.toString(16)} (${listed ?? "missing"} vs ${entry.path})`,
        "rebuild with rsagen build",
      );
    }
    const path = resolve(dir, entry.path);
    if (!existsSync(path)) {
      throw new RsagenError(
        "E_NO_MANIFEST",
        `${path} is missing (listed in ${MANIFEST_FILE})`,
        "rebuild with rsagen build",
      );
    }
    const data = new Uint8Array(readFileSync(path));
    const digest = sha256(data);
    if (data.length !== entry.size || digest !== entry.sha256) {
      throw new RsagenError(
        "E_NO_MANIFEST",
        `${path} changed after the build (SHA-256 ${digest.slice(0, 12)}…, recorded ${entry.sha256.slice(0, 12)}…)`,
        "rebuild with rsagen build so the manifest and the files match",
      );
    }
    files.push({ role: entry.role, offset: entry.offset, path, data, sha256: digest });
  }
  files.sort((a, b) => a.offset - b.offset);
  return { dir, manifest: m.data, flasherArgs: f.data, files };
}

/** flasher_args.json in ESP-IDF's shape, for host builds (ESP-IDF builds write their own). */
export function makeFlasherArgs(o: {
  target: string;
  flash: { mode: string; size: string; freq: string };
  files: { role: FileRole; offset: number; path: string }[];
}): FlasherArgs {
  const hex = (n: number) => `0x${n.toString(16)}`;
  const out: FlasherArgs = {
    write_flash_args: [
      "--flash_mode",
      o.flash.mode,
      "--flash_size",
      o.flash.size,
      "--flash_freq",
      o.flash.freq,
    ],
    flash_settings: { flash_mode: o.flash.mode, flash_size: o.flash.size, flash_freq: o.flash.freq },
    flash_files: Object.fromEntries(o.files.map((f) => [hex(f.offset), f.path])),
    extra_esptool_args: { after: "hard_reset", before: "default_reset", stub: true, chip: o.target },
  };
  for (const f of o.files) out[f.role] = { offset: hex(f.offset), file: f.path, encrypted: "false" };
  return out;
}
