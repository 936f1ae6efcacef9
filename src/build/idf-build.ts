/**
 * One ESP-IDF build: check everything that can be checked first (toggles, sdkconfig defaults,
 * partition table against the flash size, ESP-IDF present and v5.1+), then run
 *   idf.py -C firmware -B <dir> -DSDKCONFIG=<dir>/sdkconfig -DSDKCONFIG_DEFAULTS=<list>
 *          -DIDF_TARGET=<t> -DPROJECT_VER=<v> build
 * and `... size --format json2 --output-file <dir>/size.json`, and write rsagen.json next to
 * ESP-IDF's flasher_args.json. No terminal I/O: progress goes through BuildEvents.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { RsagenError } from "../errors.js";
import type { TargetName } from "../targets.js";
import { findIdf, type IdfRunner, idfPythonProblem, supportsJson2Size } from "./idf-env.js";
import { runIdf, runnerPath } from "./idf-run.js";
import {
  FILE_ROLES,
  FLASHER_ARGS_FILE,
  flasherArgsSchema,
  type Manifest,
  removeManifest,
  sha256,
  writeManifest,
} from "./manifest.js";
import { loadProjectPartitions } from "./partitions.js";
import { composeDefaults } from "./sdkconfig.js";
import { appSize, parseSizeJson2, type SizeJson2 } from "./size-report.js";
import { buildFolderName, checkToggles, type Toggles } from "./toggles.js";

export interface BuildEvents {
  stage?(name: string, detail: Record<string, unknown>): void;
  line?(line: string): void;
  progress?(done: number, total: number): void;
}

export interface IdfBuildOptions {
  projectRoot: string;
  /** Root of the build folders (default <project>/build). */
  buildRoot?: string;
  target: TargetName;
  toggles: Toggles;
  docker?: string | boolean | undefined;
  env?: NodeJS.ProcessEnv;
  version: string;
  /** Reuse an already found ESP-IDF (the matrix looks it up once). */
  runner?: IdfRunner;
  events?: BuildEvents;
}

export interface BuildResult {
  dir: string;
  manifest: Manifest;
  logFile?: string;
}

const NO_VERSION = { major: 0, minor: 0, patch: 0, text: "" };
export const BUILD_LOG = "rsagen-build.log";
const DEFAULTS_STAMP = "rsagen-defaults.sha256";

export async function idfBuild(o: IdfBuildOptions): Promise<BuildResult> {
  checkToggles(o.toggles);
  const projectRoot = resolve(o.projectRoot);
  const buildRoot = resolve(o.buildRoot ?? join(projectRoot, "build"));
  const mounts = { projectRoot, buildRoot };
  const dir = join(buildRoot, buildFolderName(o.target, o.toggles, "idf"));
  const defaults = composeDefaults(projectRoot, o.target, o.toggles, dir);
  const parts = loadProjectPartitions(projectRoot, defaults.effective);
  // A build folder outside the project cannot be seen inside the Docker container.
  if (o.docker || o.runner?.kind === "docker")
    runnerPath({ kind: "docker", image: "", version: NO_VERSION }, mounts, dir);
  const runner = o.runner ?? (await findIdf({ docker: o.docker, env: o.env }));
  const rp = (p: string) => runnerPath(runner, mounts, p);
  const defaultsList = defaults.files.map(rp).join(";");

  // Everything checked; from here on files are written.
  mkdirSync(dir, { recursive: true });
  removeManifest(dir);
  writeFileSync(defaults.files[2]!, defaults.togglesText);
  // ESP-IDF applies defaults only when it creates sdkconfig: if any defaults file changed since the
  // last build in this folder, start from a fresh sdkconfig so the change takes effect.
  const stamp = createHash("sha256");
  for (const f of defaults.files) stamp.update(f).update("\0").update(readFileSync(f)).update("\0");
  const digest = stamp.digest("hex");
  const stampFile = join(dir, DEFAULTS_STAMP);
  const sdkconfig = join(dir, "sdkconfig");
  if (
    existsSync(sdkconfig) &&
    (!existsSync(stampFile) || readFileSync(stampFile, "utf8").trim() !== digest)
  ) {
    rmSync(sdkconfig);
    o.events?.stage?.("sdkconfig-reset", { dir, reason: "sdkconfig defaults changed since the last build" });
  }
  const logFile = join(dir, BUILD_LOG);
  writeFileSync(logFile, "");

  const common = [
    "-C",
    rp(join(projectRoot, "firmware")),
    "-B",
    rp(dir),
    `-DSDKCONFIG=${rp(sdkconfig)}`,
    `-DSDKCONFIG_DEFAULTS=${defaultsList}`,
    `-DIDF_TARGET=${o.target}`,
    `-DPROJECT_VER=${o.version}`,
  ];
  o.events?.stage?.("build", { target: o.target, dir, idf: runner.version.text, runner: runner.kind });
  const env = o.env ?? process.env;
  const run = (args: string[]) =>
    runIdf({
      runner,
      mounts,
      args,
      logFile,
      env,
      onLine: o.events?.line,
      onProgress: o.events?.progress,
    });
  const built = await run([...common, "build"]);
  if (built.exitCode !== 0) {
    const idfPath = runner.kind === "idf-path" ? runner.idfPath : env.IDF_PATH;
    throw (
      idfPythonProblem(built.tail.join("\n"), idfPath) ??
      buildFailed(`idf.py build for ${o.target} failed (exit ${built.exitCode})`, built.tail, logFile)
    );
  }
  writeFileSync(stampFile, `${digest}\n`);

  let json2: SizeJson2 | undefined;
  if (supportsJson2Size(runner.version)) {
    o.events?.stage?.("size", { target: o.target });
    const sizeFile = join(dir, "size.json");
    rmSync(sizeFile, { force: true });
    const sized = await run([...common, "size", "--format", "json2", "--output-file", rp(sizeFile)]);
    if (sized.exitCode !== 0 || !existsSync(sizeFile)) {
      throw buildFailed(`idf.py size for ${o.target} failed (exit ${sized.exitCode})`, sized.tail, logFile);
    }
    json2 = parseSizeJson2(readFileSync(sizeFile, "utf8"), sizeFile);
  }

  const faFile = join(dir, FLASHER_ARGS_FILE);
  if (!existsSync(faFile))
    throw buildFailed(`idf.py build left no ${FLASHER_ARGS_FILE} in ${dir}`, built.tail, logFile);
  const fa = flasherArgsSchema.safeParse(JSON.parse(readFileSync(faFile, "utf8")));
  if (!fa.success) {
    throw buildFailed(
      `${faFile} is not in ESP-IDF's flasher_args format: ${fa.error.issues[0]?.message}`,
      [],
      logFile,
    );
  }
  const files: Manifest["files"] = [];
  for (const role of FILE_ROLES) {
    const entry = fa.data[role];
    if (!entry) throw buildFailed(`${faFile} lists no ${role}`, [], logFile);
    const data = readFileSync(join(dir, entry.file));
    files.push({
      role,
      offset: Number(entry.offset),
      path: entry.file,
      size: data.length,
      sha256: sha256(data),
    });
  }
  const app = files.find((f) => f.role === "app")!;
  if (app.offset !== parts.app.offset) {
    throw buildFailed(
      `${faFile} puts the app at 0x${app.offset.toString(16)}, the partition table at 0x${parts.app.offset.toString(16)}`,
      [],
      logFile,
    );
  }
  const size = appSize(app.size, parts.app, json2);
  const manifest: Manifest = {
    schema: 1,
    kind: "idf",
    target: o.target,
    toggles: { ...o.toggles },
    projectName: "rsagen",
    version: o.version,
    idfVersion: runner.version.text,
    builtAt: new Date().toISOString(),
    flash: {
      mode: fa.data.flash_settings.flash_mode,
      size: fa.data.flash_settings.flash_size,
      freq: fa.data.flash_settings.flash_freq,
    },
    files,
    app: size,
  };
  writeManifest(dir, manifest);
  return { dir, manifest, logFile };
}

function buildFailed(message: string, tail: string[], logFile: string): RsagenError {
  const err = new RsagenError("E_BUILD_FAILED", message, `full log: ${logFile} (or run with --verbose)`);
  (err as RsagenError & { logTail?: string[]; logFile?: string }).logTail = tail;
  (err as RsagenError & { logFile?: string }).logFile = logFile;
  return err;
}
