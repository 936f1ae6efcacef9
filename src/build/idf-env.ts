/**
 * Finding ESP-IDF: --docker [IMAGE] (the official espressif/idf image with the project mounted),
 * else idf.py on PATH (an exported ESP-IDF shell), else IDF_PATH, else ~/esp/esp-idf (where
 * Espressif's Linux getting-started guide clones it). A tree found through IDF_PATH or ~/esp is
 * used with the environment its export.sh sets (toolchains under ~/.espressif/tools, its Python
 * environment), exactly as a user's `. $IDF_PATH/export.sh` would. The version must be v5.1 or later
 * within v5.x: esp32c6 is in idf.py's SUPPORTED_TARGETS from v5.1 (tools/idf_py_actions/constants.py),
 * the ESP_TASK_WDT_EN/INIT split our sdkconfig uses exists from v5.0.1, and the firmware relies on
 * esp_task_wdt_reconfigure (v5.1+). `idf.py size --format json2` needs v5.3+; older versions still
 * build, the size report then lacks the memory breakdown.
 */
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { RsagenError } from "../errors.js";

/** The official image (docs/en/api-guides/tools/idf-docker-image.rst: tags vX.Y, release-vX.Y, latest). */
export const DEFAULT_DOCKER_IMAGE = "espressif/idf:v5.5";

export interface IdfVersion {
  major: number;
  minor: number;
  patch: number;
  /** As ESP-IDF prints it, e.g. v5.5.5 or v5.5.1-dirty. */
  text: string;
}

export type IdfRunner =
  | { kind: "path"; idfPy: string; version: IdfVersion }
  /** Found through IDF_PATH or ~/esp/esp-idf; env is what its export.sh set up. */
  | { kind: "idf-path"; idfPath: string; idfPy: string; version: IdfVersion; env: NodeJS.ProcessEnv }
  | { kind: "docker"; image: string; version: IdfVersion };

const NO_IDF_HINT =
  "use one of: (1) idf.py on PATH (an ESP-IDF shell: . $IDF_PATH/export.sh), " +
  "(2) IDF_PATH pointing at an ESP-IDF v5.x checkout (or one in ~/esp/esp-idf), " +
  "(3) --docker [IMAGE] to build in espressif/idf";

/**
 * Recognises an ESP-IDF install whose Python environment lacks a module idf.py imports at start
 * (e.g. esp_idf_monitor after an ESP-IDF upgrade without install.sh), in idf.py's or export.sh's
 * output, and says how to fix it. undefined when the output shows no such problem.
 */
export function idfPythonProblem(output: string, idfPath?: string): RsagenError | undefined {
  const where = idfPath ?? "$IDF_PATH";
  const fix = `run ${where}/install.sh (it installs ESP-IDF's Python requirements), then . ${where}/export.sh`;
  const missing = /No module named '([\w.]+)'/.exec(output);
  if (missing) {
    return new RsagenError(
      "E_NO_IDF",
      `ESP-IDF's Python environment lacks the module '${missing[1]}' that idf.py needs`,
      fix,
    );
  }
  if (/Python requirements are not (satisfied|met)|requirement.*is not satisfied/i.test(output)) {
    const req = /^\s*(?:Requirement\s+)?'?([A-Za-z0-9_.-]+[<>=~!][^\s']*)'?.*not satisfied/im.exec(output);
    return new RsagenError(
      "E_NO_IDF",
      `ESP-IDF's Python requirements are not satisfied${req ? ` (${req[1]})` : ""}`,
      fix,
    );
  }
  return undefined;
}

/**
 * A scratch working directory for idf.py: idf.py reads a file named `sdkconfig` in its working
 * directory even for --version, and the rsagen checkout has a folder of that name (IsADirectoryError).
 */
export function neutralCwd(): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), "rsagen-idf-"));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Parses "ESP-IDF v5.5.5", "v5.5.1-dirty", "v5.4-dev-123-gabc" or "5.5.5". */
export function parseIdfVersion(text: string): IdfVersion | undefined {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?([-+][\w.+-]*)?/.exec(text);
  if (!m) return undefined;
  const v = `v${m[1]}.${m[2]}${m[3] !== undefined ? `.${m[3]}` : ""}${m[4] ?? ""}`;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text: v };
}

/** Throws E_NO_IDF unless the version is v5.1 or later within v5.x. */
export function checkIdfVersion(v: IdfVersion, where: string): void {
  if (v.major !== 5 || v.minor < 1) {
    throw new RsagenError(
      "E_NO_IDF",
      `${where} is ESP-IDF ${v.text}; rsagen needs ESP-IDF v5.x from v5.1 on`,
      "install ESP-IDF v5.5 (or use --docker, which defaults to espressif/idf:v5.5)",
    );
  }
}

/** json2 size output exists from v5.3 (tools/idf_py_actions/core_ext.py). */
export function supportsJson2Size(v: IdfVersion): boolean {
  return v.major > 5 || (v.major === 5 && v.minor >= 3);
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

/** Version from $IDF_PATH/tools/cmake/version.cmake (no Python needed; same source idf.py falls back on). */
export function idfVersionFromTree(idfPath: string): IdfVersion | undefined {
  const file = join(idfPath, "tools", "cmake", "version.cmake");
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, "utf8");
  const get = (k: string) => new RegExp(`set\\(IDF_VERSION_${k}\\s+(\\d+)\\)`).exec(text)?.[1];
  const [maj, min, pat] = [get("MAJOR"), get("MINOR"), get("PATCH")];
  if (maj === undefined || min === undefined) return undefined;
  return parseIdfVersion(`v${maj}.${min}.${pat ?? 0}`);
}

async function versionFromCommand(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  what: string,
): Promise<IdfVersion> {
  let stdout: string;
  const cwd = neutralCwd();
  try {
    const r = await execa(cmd, args, {
      env,
      extendEnv: false,
      reject: false,
      timeout: 120_000,
      cwd: cwd.dir,
    });
    if (r.exitCode !== 0) {
      const problem = idfPythonProblem(`${r.stdout}\n${r.stderr}`, env.IDF_PATH);
      if (problem) throw problem;
      throw new RsagenError(
        "E_NO_IDF",
        `${what} failed (exit ${r.exitCode}): ${(r.stderr || r.stdout).split("\n").filter(Boolean).pop() ?? "no output"}`,
        NO_IDF_HINT,
      );
    }
    stdout = r.stdout;
  } catch (err) {
    if (err instanceof RsagenError) throw err;
    throw new RsagenError("E_NO_IDF", `${what} could not run: ${(err as Error).message}`, NO_IDF_HINT);
  } finally {
    cwd.dispose();
  }
  const v = parseIdfVersion(stdout);
  if (!v)
    throw new RsagenError("E_NO_IDF", `${what} printed no ESP-IDF version: '${stdout.trim()}'`, NO_IDF_HINT);
  return v;
}

export interface FindIdfOptions {
  /** --docker: true for the default image, a string for a given image, undefined to not use Docker. */
  docker?: string | boolean | undefined;
  env?: NodeJS.ProcessEnv;
}

export async function findIdf(opts: FindIdfOptions): Promise<IdfRunner> {
  const env = opts.env ?? process.env;
  if (opts.docker) {
    const image = typeof opts.docker === "string" ? opts.docker : DEFAULT_DOCKER_IMAGE;
    if (!findOnPath("docker", env)) {
      throw new RsagenError(
        "E_NO_IDF",
        "--docker was given but docker is not on PATH",
        "install Docker, or drop --docker and use idf.py or IDF_PATH",
      );
    }
    const version = await versionFromCommand(
      "docker",
      ["run", "--rm", image, "idf.py", "--version"],
      env,
      `docker image ${image}`,
    );
    checkIdfVersion(version, `docker image ${image}`);
    return { kind: "docker", image, version };
  }
  const idfPy = findOnPath("idf.py", env);
  if (idfPy) {
    const version = await versionFromCommand(idfPy, ["--version"], env, `${idfPy} --version`);
    checkIdfVersion(version, idfPy);
    return { kind: "path", idfPy, version };
  }
  const idfPath = env.IDF_PATH ?? defaultIdfPath(env);
  if (idfPath) {
    const script = join(idfPath, "tools", "idf.py");
    if (!existsSync(script)) {
      throw new RsagenError("E_NO_IDF", `IDF_PATH=${idfPath} holds no tools/idf.py`, NO_IDF_HINT);
    }
    const version = idfVersionFromTree(idfPath);
    if (!version)
      throw new RsagenError(
        "E_NO_IDF",
        `cannot read the ESP-IDF version under IDF_PATH=${idfPath}`,
        NO_IDF_HINT,
      );
    checkIdfVersion(version, `IDF_PATH=${idfPath}`);
    const exported = await exportedEnv(idfPath, env);
    return { kind: "idf-path", idfPath, idfPy: script, version, env: exported };
  }
  throw new RsagenError(
    "E_NO_IDF",
    "ESP-IDF not found: no idf.py on PATH, IDF_PATH unset, nothing in ~/esp/esp-idf, no --docker",
    NO_IDF_HINT,
  );
}

/** ~/esp/esp-idf when it holds an ESP-IDF tree (HOME from the given environment). */
function defaultIdfPath(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.HOME) return undefined;
  const dir = join(env.HOME, "esp", "esp-idf");
  return existsSync(join(dir, "tools", "idf.py")) ? dir : undefined;
}

/**
 * The environment `. $IDF_PATH/export.sh` sets up (PATH with the toolchains and the Python
 * environment, IDF_PYTHON_ENV_PATH, ...), read back with `env -0` from the shell that sourced it.
 * A tree without export.sh is used with the environment as it is.
 */
async function exportedEnv(idfPath: string, env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const script = join(idfPath, "export.sh");
  const base = { ...env, IDF_PATH: idfPath };
  if (!existsSync(script)) return base;
  const cwd = neutralCwd();
  try {
    const r = await execa("bash", ["-c", '. "$IDF_PATH/export.sh" >&2 && env -0'], {
      env: base,
      extendEnv: false,
      reject: false,
      timeout: 300_000,
      cwd: cwd.dir,
      encoding: "utf8",
    });
    if (r.exitCode !== 0) {
      const problem = idfPythonProblem(r.stderr, idfPath);
      if (problem) throw problem;
      const last = r.stderr.split("\n").filter(Boolean).pop() ?? "no output";
      throw new RsagenError(
        "E_NO_IDF",
        `${script} failed (exit ${r.exitCode}): ${last}`,
        `run ${idfPath}/install.sh to install its tools, then try again`,
      );
    }
    const out: NodeJS.ProcessEnv = {};
    for (const entry of r.stdout.split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return out;
  } finally {
    cwd.dispose();
  }
}
