/**
 * `rsagen build --host`: build the firmware's host executable with CMake (contract C2:
 * `cmake -S firmware/host -B <dir> -DRSAGEN_CRYPTO_EXTRA=ON|OFF -DRSAGEN_INLINE_KEYGEN=ON|OFF
 * -DRSAGEN_KEY_SLOTS=ON|OFF -DRSAGEN_SLOT_CSR=ON|OFF` ->
 * <dir>/rsagen-fw) and package it like an ESP-IDF build: rsagen.bin (app image carrying the
 * executable), bootloader/bootloader.bin, partition_table/partition-table.bin, flasher_args.json
 * and rsagen.json in build/<target>-host-<cx|nocx>[-inline]/. Flash settings and the partition table
 * come from the same sdkconfig/ and partitions/ as the ESP-IDF build.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { RsagenError } from "../errors.js";
import { buildHostBootloader, wrapHostExecutable } from "../image/host-payload.js";
import { TARGETS, type TargetName } from "../targets.js";
import type { BuildEvents, BuildResult } from "./idf-build.js";
import { runLogged } from "./idf-run.js";
import { type Manifest, makeFlasherArgs, removeManifest, sha256, writeManifest } from "./manifest.js";
import { loadProjectPartitions, partitionTableBinary } from "./partitions.js";
import { composeDefaults, type DefaultsEntry, effectiveBool } from "./sdkconfig.js";
import { appSize } from "./size-report.js";
import { buildFolderName, checkToggles, keySlotsOn, type Toggles } from "./toggles.js";

export interface HostBuildOptions {
  projectRoot: string;
  buildRoot?: string;
  target: TargetName;
  toggles: Toggles;
  version: string;
  env?: NodeJS.ProcessEnv;
  /** Package this executable instead of building firmware/host (tests, prebuilt binaries). */
  executable?: string;
  /** Extra -D options for the host CMake project (e.g. RSAGEN_SANITIZE=ON). */
  cmakeDefines?: Record<string, string>;
  builtAt?: Date;
  events?: BuildEvents;
}

export const HOST_EXECUTABLE = "rsagen-fw";
const FILES = {
  app: "rsagen.bin",
  bootloader: "bootloader/bootloader.bin",
  table: "partition_table/partition-table.bin",
};

function flashFrom(
  effective: Map<string, DefaultsEntry>,
  sizeName: string,
): { mode: string; size: string; freq: string } {
  const modes = ["qio", "qout", "dio", "dout"].filter((m) =>
    effectiveBool(effective, `ESPTOOLPY_FLASHMODE_${m.toUpperCase()}`),
  );
  const freqs = [...effective.keys()]
    .map((k) => /^ESPTOOLPY_FLASHFREQ_(\d+)M$/.exec(k)?.[1])
    .filter(
      (f): f is string => f !== undefined && effectiveBool(effective, `ESPTOOLPY_FLASHFREQ_${f}M`) === true,
    );
  // ESP-IDF defaults when a file does not choose (esptool_py/Kconfig.projbuild, spi_flash/<t>/Kconfig.flash_freq).
  return { mode: modes.at(-1) ?? "dio", size: sizeName, freq: `${freqs.at(-1) ?? "80"}m` };
}

function onPath(name: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "").split(delimiter).some((d) => {
    try {
      accessSync(join(d, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export async function hostBuild(o: HostBuildOptions): Promise<BuildResult> {
  checkToggles(o.toggles);
  if (o.toggles.taskWdtS !== undefined) {
    throw new RsagenError(
      "E_USAGE",
      "--task-wdt sets the ESP-IDF build's watchdog; the virtual board sets it at run time",
      "use rsagen sim --wdt-ms instead",
    );
  }
  const projectRoot = resolve(o.projectRoot);
  const env = o.env ?? process.env;
  const dir = resolve(
    o.buildRoot ?? join(projectRoot, "build"),
    buildFolderName(o.target, o.toggles, "host"),
  );
  const defaults = composeDefaults(projectRoot, o.target, o.toggles, dir);
  const parts = loadProjectPartitions(projectRoot, defaults.effective);
  const flash = flashFrom(defaults.effective, parts.flashSize.name);
  const hostSrc = join(projectRoot, "firmware", "host");
  if (o.executable === undefined) {
    if (!existsSync(join(hostSrc, "CMakeLists.txt"))) {
      throw new RsagenError(
        "E_BUILD_FAILED",
        `no host firmware project at ${hostSrc}/CMakeLists.txt`,
        "the firmware checkout is incomplete",
      );
    }
    if (!onPath("cmake", env)) {
      throw new RsagenError(
        "E_BUILD_FAILED",
        "cmake is not on PATH (needed for --host)",
        "install cmake and a C compiler (apt-get install cmake gcc make)",
      );
    }
  } else if (!existsSync(o.executable)) {
    throw new RsagenError(
      "E_USAGE",
      `host executable ${o.executable} does not exist`,
      "give the path of a built rsagen-fw",
    );
  }

  // Checked; from here on files are written.
  mkdirSync(dir, { recursive: true });
  removeManifest(dir);
  const logFile = join(dir, "rsagen-build.log");
  writeFileSync(logFile, "");
  let exePath = o.executable;
  if (exePath === undefined) {
    const cmakeDir = join(dir, "cmake");
    const on = (b: boolean) => (b ? "ON" : "OFF");
    const defines = {
      CMAKE_BUILD_TYPE: "Release",
      RSAGEN_FW_VERSION: o.version,
      RSAGEN_CRYPTO_EXTRA: on(o.toggles.cryptoExtra),
      RSAGEN_INLINE_KEYGEN: on(o.toggles.inlineKeygen),
      RSAGEN_KEY_SLOTS: on(keySlotsOn(o.toggles)),
      RSAGEN_SLOT_CSR: on(keySlotsOn(o.toggles)),
      ...o.cmakeDefines,
    };
    o.events?.stage?.("host-configure", { target: o.target, dir });
    const run = async (args: string[], what: string) => {
      const r = await runLogged({
        file: "cmake",
        args,
        cwd: projectRoot,
        env,
        logFile,
        onLine: o.events?.line,
        onProgress: o.events?.progress,
      });
      if (r.exitCode !== 0) {
        const err = new RsagenError(
          "E_BUILD_FAILED",
          `${what} failed (exit ${r.exitCode})`,
          `full log: ${logFile} (or run with --verbose)`,
        );
        Object.assign(err, { logTail: r.tail, logFile });
        throw err;
      }
    };
    await run(
      ["-S", hostSrc, "-B", cmakeDir, ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`)],
      "cmake configure of firmware/host",
    );
    o.events?.stage?.("host-build", { target: o.target, dir });
    await run(
      ["--build", cmakeDir, "--target", HOST_EXECUTABLE, "--parallel"],
      "cmake build of firmware/host",
    );
    exePath = join(cmakeDir, HOST_EXECUTABLE);
    if (!existsSync(exePath)) {
      throw new RsagenError(
        "E_BUILD_FAILED",
        `the host build produced no ${exePath}`,
        "firmware/host must build the rsagen-fw target (contract C2)",
      );
    }
  }
  o.events?.stage?.("package", { target: o.target, dir });
  const exe = new Uint8Array(readFileSync(exePath));
  const imgOpts = { target: o.target, version: o.version, flash, builtAt: o.builtAt ?? new Date() };
  const app = wrapHostExecutable(exe, imgOpts);
  const size = appSize(app.length, parts.app); // E_IMAGE_TOO_LARGE before any output file is written
  const bootloader = buildHostBootloader(imgOpts);
  const table = partitionTableBinary(parts);
  const outputs = [
    {
      role: "bootloader" as const,
      offset: bootloaderOffset(o.target),
      path: FILES.bootloader,
      data: bootloader,
    },
    { role: "partition-table" as const, offset: parts.tableOffset, path: FILES.table, data: table },
    { role: "app" as const, offset: parts.app.offset, path: FILES.app, data: app },
  ];
  for (const f of outputs) {
    mkdirSync(join(dir, f.path, ".."), { recursive: true });
    writeFileSync(join(dir, f.path), f.data);
  }
  const fa = makeFlasherArgs({ target: o.target, flash, files: outputs });
  writeFileSync(join(dir, "flasher_args.json"), `${JSON.stringify(fa, null, 4)}\n`);
  const manifest: Manifest = {
    schema: 1,
    kind: "host",
    target: o.target,
    toggles: { ...o.toggles },
    projectName: "rsagen",
    version: o.version,
    idfVersion: "host",
    builtAt: imgOpts.builtAt.toISOString(),
    flash,
    files: outputs.map((f) => ({
      role: f.role,
      offset: f.offset,
      path: f.path,
      size: f.data.length,
      sha256: sha256(f.data),
    })),
    app: size,
    hostExecutable: { size: exe.length, sha256: sha256(exe) },
  };
  writeManifest(dir, manifest);
  return { dir, manifest, logFile };
}

function bootloaderOffset(target: TargetName): number {
  return TARGETS[target].bootloaderOffset;
}
