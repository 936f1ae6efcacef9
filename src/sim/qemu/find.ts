/**
 * Finding Espressif's QEMU as a user's install provides it: --qemu PATH, else qemu-system-<arch>
 * on PATH (an exported ESP-IDF shell puts it there), else where ESP-IDF's
 * `idf_tools.py install qemu-riscv32 qemu-xtensa` puts it:
 * $IDF_TOOLS_PATH (default ~/.espressif)/tools/qemu-<arch>/<version>/qemu/bin/qemu-system-<arch>
 * (the newest version folder). The binary must know the chip's machine (`-machine help`): upstream
 * QEMU has no ESP32 machines.
 */
import { accessSync, constants, existsSync, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { execa } from "execa";
import { RsagenError } from "../../errors.js";
import { TARGETS, type TargetName } from "../../targets.js";
import { QEMU_TARGETS, type QemuTarget, qemuTarget } from "./targets.js";

export interface FoundQemu {
  path: string;
  target: QemuTarget;
  /** How it was found, for messages. */
  how: "--qemu" | "PATH" | "ESP-IDF tools";
}

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Version folders sorted newest first (esp_develop_9.2.2_20250817 style names sort by date). */
function toolVersions(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).sort((a, b) => b.localeCompare(a, "en", { numeric: true }));
}

export function candidateQemuPaths(
  q: QemuTarget,
  env: NodeJS.ProcessEnv,
): { path: string; how: FoundQemu["how"] }[] {
  const exe = `qemu-system-${q.arch}`;
  const out: { path: string; how: FoundQemu["how"] }[] = [];
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir) out.push({ path: join(dir, exe), how: "PATH" });
  }
  const toolsRoot = env.IDF_TOOLS_PATH ?? (env.HOME ? join(env.HOME, ".espressif") : undefined);
  if (toolsRoot) {
    const pkg = join(toolsRoot, "tools", q.idfToolsPackage);
    for (const v of toolVersions(pkg))
      out.push({ path: join(pkg, v, "qemu", "bin", exe), how: "ESP-IDF tools" });
  }
  return out;
}

async function knowsMachine(path: string, machine: string): Promise<boolean> {
  const r = await execa(path, ["-machine", "help"], { reject: false, timeout: 20_000 });
  return r.exitCode === 0 && new RegExp(`^${machine}\\s`, "m").test(r.stdout);
}

export interface FindQemuOptions {
  target: TargetName;
  /** --qemu PATH */
  qemu?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export async function findQemu(o: FindQemuOptions): Promise<FoundQemu> {
  const env = o.env ?? process.env;
  const q = qemuTarget(o.target);
  if (!q) {
    const have = Object.keys(QEMU_TARGETS).join(" and ");
    throw new RsagenError(
      "E_NO_QEMU",
      `Espressif's QEMU has no ${TARGETS[o.target].displayName} machine (it emulates ${have})`,
      `use --target ${Object.keys(QEMU_TARGETS).join(" or --target ")}, or the host board (--engine host)`,
    );
  }
  const machine = q.machineArgs[1]!;
  if (o.qemu !== undefined) {
    if (!executable(o.qemu)) {
      throw new RsagenError(
        "E_NO_QEMU",
        `--qemu ${o.qemu} is not an executable file`,
        "give the path of qemu-system-" + q.arch,
      );
    }
    if (!(await knowsMachine(o.qemu, machine))) {
      throw new RsagenError(
        "E_NO_QEMU",
        `${o.qemu} has no '${machine}' machine (upstream QEMU has no ESP32 machines)`,
        "use Espressif's QEMU: idf_tools.py install qemu-riscv32 qemu-xtensa",
      );
    }
    return { path: o.qemu, target: q, how: "--qemu" };
  }
  for (const c of candidateQemuPaths(q, env)) {
    if (executable(c.path) && (await knowsMachine(c.path, machine)))
      return { path: c.path, target: q, how: c.how };
  }
  throw new RsagenError(
    "E_NO_QEMU",
    `Espressif's QEMU (qemu-system-${q.arch} with the ${machine} machine) not found on PATH or in ~/.espressif/tools`,
    `install it with ESP-IDF: $IDF_PATH/tools/idf_tools.py install ${q.idfToolsPackage}, or pass --qemu PATH`,
  );
}
