/** `rsagen build` at run time: validates the flags, runs src/build and renders its stages. */
import { existsSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { RsagenError } from "../../errors.js";
import type { TargetName } from "../../targets.js";
import type { BuildOptions } from "../build.js";
import { contextFor } from "../context.js";
import { parseOption, targetSchema } from "../options.js";
import type { Output } from "../output.js";
import { VERSION } from "../version.js";

/** The ESP-IDF project: the current directory when it is an rsagen checkout, else the installed package. */
function projectRoot(cwd: string): string {
  const isProject = (d: string) =>
    existsSync(join(d, "firmware", "CMakeLists.txt")) && existsSync(join(d, "sdkconfig"));
  if (isProject(cwd)) return cwd;
  return fileURLToPath(new URL("../../..", import.meta.url));
}

/** `seen`: which of --hw-mpi/--no-hw-mpi/--crypto-extra/--no-crypto-extra were typed (commander keeps the last). */
export async function run(raw: BuildOptions, c: Command, seen: ReadonlySet<string>): Promise<void> {
  const { settings, out } = contextFor(c);
  for (const f of ["hw-mpi", "crypto-extra"]) {
    if (seen.has(f) && seen.has(`no-${f}`)) {
      throw new RsagenError("E_USAGE", `--${f} and --no-${f} contradict each other`, `give only one of them`);
    }
  }
  const mpiGiven = seen.has("hw-mpi") || seen.has("no-hw-mpi");
  const targetRaw = raw.target ?? settings.config.target;
  const target: TargetName | undefined =
    targetRaw !== undefined ? parseOption(targetSchema, targetRaw, "--target") : undefined;
  if (raw.host && raw.matrix)
    throw new RsagenError(
      "E_USAGE",
      "--host and --matrix cannot be combined",
      "build the host image per target: --host --target <t>",
    );
  if (raw.host && raw.docker)
    throw new RsagenError(
      "E_USAGE",
      "--host builds natively with CMake; --docker is for ESP-IDF builds",
      "drop --docker",
    );
  if (raw.host && mpiGiven) {
    throw new RsagenError(
      "E_USAGE",
      "--hw-mpi/--no-hw-mpi do not apply to --host (the host build uses software bignum)",
      "drop the MPI flag",
    );
  }
  if (raw.matrix && mpiGiven)
    throw new RsagenError(
      "E_USAGE",
      "--matrix builds with hardware MPI on and off; drop --hw-mpi/--no-hw-mpi",
      "run --matrix alone",
    );
  if (!target && !raw.matrix)
    throw new RsagenError(
      "E_USAGE",
      "--target is required",
      "e.g. rsagen build --target esp32c3 (or --matrix for all)",
    );

  const taskWdtS = raw.taskWdt !== undefined ? parseTaskWdt(raw.taskWdt) : undefined;
  if (raw.host && taskWdtS !== undefined)
    throw new RsagenError(
      "E_USAGE",
      "--task-wdt sets the ESP-IDF build's watchdog; the virtual board sets it at run time",
      "use rsagen sim --wdt-ms instead",
    );
  const root = projectRoot(process.cwd());
  // Build output goes to the user's folder, never into the installed package (which a system-wide
  // install cannot write, and every user would share). rsagen flash looks in ./build too.
  const buildRoot = resolve(raw.buildDir ?? settings.config.buildDir ?? "build");
  const common = {
    projectRoot: root,
    buildRoot,
    toggles: {
      hwMpi: raw.hwMpi,
      cryptoExtra: raw.cryptoExtra,
      inlineKeygen: Boolean(raw.inlineKeygen),
      ...(raw.keySlots === false ? { keySlots: false } : {}),
      ...(taskWdtS !== undefined ? { taskWdtS } : {}),
    },
    version: VERSION,
    events: buildEvents(out, target ?? "all"),
  };
  const docker = raw.docker ?? settings.config.docker;
  try {
    if (raw.host) {
      const { hostBuild } = await import("../../build/host-build.js");
      const r = await hostBuild({ ...common, target: target! });
      out.result({ dir: r.dir, manifest: r.manifest }, () => summary(r.dir, r.manifest));
    } else if (raw.matrix) {
      const [{ idfMatrix }, { formatSizeTable }] = await Promise.all([
        import("../../build/matrix.js"),
        import("../../build/size-report.js"),
      ]);
      const r = await idfMatrix({ ...common, docker, ...(target ? { targets: [target] } : {}) });
      out.result(
        {
          rows: r.rows.map((x, i) => ({
            target: x.target,
            hwMpi: x.hwMpi,
            keySlots: x.keySlots !== false,
            dir: r.builds[i]!.dir,
            ...x.size,
          })),
          hwMpiDelta: r.hwMpiDelta,
          keySlotsDelta: r.keySlotsDelta,
        },
        () => formatSizeTable(r.rows),
      );
    } else {
      const { idfBuild } = await import("../../build/idf-build.js");
      const r = await idfBuild({ ...common, target: target!, docker });
      out.result({ dir: r.dir, manifest: r.manifest }, () => summary(r.dir, r.manifest));
    }
  } catch (err) {
    const tail = (err as { logTail?: string[] }).logTail;
    if (tail && tail.length > 0 && !settings.verbose)
      out.event("build-log", { lines: tail }, () => tail.join("\n"));
    throw err;
  }
}

function parseTaskWdt(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 60)
    throw new RsagenError(
      "E_USAGE",
      `--task-wdt ${text}: the task watchdog timeout is whole seconds from 1 to 60`,
      "e.g. --task-wdt 1 (ESP-IDF's smallest)",
    );
  return n;
}

/** How each build stage reads for a human; --json keeps the stage name and its details as they are. */
function describeStage(name: string, detail: Record<string, unknown>, target: string): string {
  const dir = typeof detail.dir === "string" ? shortPath(detail.dir) : undefined;
  switch (name) {
    case "sdkconfig-reset":
      return `${dir}: ${detail.reason}; regenerating sdkconfig`;
    case "build":
      return `${target}: building the firmware with ESP-IDF ${detail.idf} (${RUNNERS[String(detail.runner)] ?? detail.runner}) in ${dir}`;
    case "size":
      return `${target}: reading the image sizes`;
    case "host-configure":
      return `${target}: configuring the host firmware build (CMake) in ${dir}`;
    case "host-build":
      return `${target}: compiling the host firmware`;
    case "package":
      return `${target}: packaging the app image, bootloader and partition table for the virtual board`;
    default:
      return `${target}: ${name}`;
  }
}

const RUNNERS: Record<string, string> = {
  path: "idf.py on PATH",
  "idf-path": "IDF_PATH or ~/esp/esp-idf",
  docker: "Docker",
};

/** A path under the current folder as a relative one, others as they are. */
function shortPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r === "" || r.startsWith("..") || isAbsolute(r) ? p : r;
}

function buildEvents(out: Output, label: string) {
  let current = label;
  return {
    stage(name: string, detail: Record<string, unknown>) {
      if (typeof detail.target === "string") current = detail.target;
      out.event("stage", { stage: name, ...detail }, () => describeStage(name, detail, current));
    },
    line(line: string) {
      out.debug(line);
    },
    progress(done: number, total: number) {
      out.progress(`${current}: [${done}/${total}]`);
    },
  };
}

function summary(
  dir: string,
  m: {
    target: string;
    kind: string;
    app: { imageSize: number; partitionSize: number; freeBytes: number; freePercent: number };
  },
): string {
  return [
    `built ${m.kind === "host" ? "host image" : "firmware"} for ${m.target} in ${dir}`,
    `  app image ${m.app.imageSize} bytes, partition ${m.app.partitionSize} bytes, free ${m.app.freeBytes} (${m.app.freePercent.toFixed(1)}%)`,
    `  flash it: rsagen flash --build-dir ${dir}`,
  ].join("\n");
}
