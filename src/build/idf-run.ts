/**
 * Running idf.py (directly or in Docker) with streamed output: every line goes to the log file and
 * to onLine; ninja's "[n/total]" prefix becomes a progress callback. Nothing here prints.
 */
import { createWriteStream } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { execa } from "execa";
import { RsagenError } from "../errors.js";
import { type IdfRunner, neutralCwd } from "./idf-env.js";

/** Where the project root (firmware/, sdkconfig/, partitions/) is mounted in the container. */
export const DOCKER_PROJECT_DIR = "/project";
/** Where the build root is mounted when it lies outside the project (the user's ./build). */
export const DOCKER_BUILD_DIR = "/rsagen-build";

/** The host folders a Docker build sees. */
export interface Mounts {
  projectRoot: string;
  buildRoot: string;
}

function inside(root: string, p: string): string | undefined {
  const rel = relative(root, resolve(p));
  return rel.startsWith("..") || resolve(rel) === rel ? undefined : rel;
}

/** The build root needs a mount of its own unless it lies inside the project. */
function buildRootMounted(m: Mounts): boolean {
  return inside(m.projectRoot, m.buildRoot) === undefined;
}

/** Maps a host path to the path the runner sees (unchanged unless Docker). */
export function runnerPath(runner: IdfRunner, mounts: Mounts, hostPath: string): string {
  if (runner.kind !== "docker") return hostPath;
  const join = (base: string, rel: string) => (rel === "" ? base : `${base}/${rel.split(sep).join("/")}`);
  const inProject = inside(mounts.projectRoot, hostPath);
  if (inProject !== undefined) return join(DOCKER_PROJECT_DIR, inProject);
  const inBuild = buildRootMounted(mounts) ? inside(mounts.buildRoot, hostPath) : undefined;
  if (inBuild !== undefined) return join(DOCKER_BUILD_DIR, inBuild);
  throw new RsagenError(
    "E_USAGE",
    `with --docker every path must be inside the project (${mounts.projectRoot}) or the build folder (${mounts.buildRoot}), but ${hostPath} is not`,
    "use a --build-dir that holds the build",
  );
}

/** The command line that runs `idf.py <args>` (args already use runner paths). */
export function idfCommand(
  runner: IdfRunner,
  mounts: Mounts,
  args: string[],
  ids: { uid: number; gid: number } = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
): { file: string; args: string[] } {
  switch (runner.kind) {
    case "path":
    case "idf-path":
      return { file: runner.idfPy, args };
    case "docker":
      // docs/en/api-guides/tools/idf-docker-image.rst: mount the project, run as the caller so the
      // build output is not root-owned, HOME in /tmp, and tell git the mount is safe. The working
      // directory is /tmp, not the project: idf.py reads ./sdkconfig, and ours is a folder.
      return {
        file: "docker",
        args: [
          "run",
          "--rm",
          "-v",
          `${mounts.projectRoot}:${DOCKER_PROJECT_DIR}`,
          ...(buildRootMounted(mounts) ? ["-v", `${mounts.buildRoot}:${DOCKER_BUILD_DIR}`] : []),
          "-w",
          "/tmp",
          "-u",
          `${ids.uid}:${ids.gid}`,
          "-e",
          "HOME=/tmp",
          "-e",
          `IDF_GIT_SAFE_DIR=${DOCKER_PROJECT_DIR}`,
          runner.image,
          "idf.py",
          ...args,
        ],
      };
  }
}

export interface RunIdfOptions {
  runner: IdfRunner;
  mounts: Mounts;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  onLine?: (line: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface RunIdfResult {
  exitCode: number;
  /** Last lines of output, for error messages. */
  tail: string[];
  command: string;
}

const NINJA_PROGRESS = /^\[(\d+)\/(\d+)\]/;
const MAKE_PROGRESS = /^\[\s*(\d+)%\]/;
const TAIL_LINES = 40;

export async function runIdf(o: RunIdfOptions): Promise<RunIdfResult> {
  const { file, args } = idfCommand(o.runner, o.mounts, o.args);
  // Never in the project folder: idf.py reads a file named sdkconfig in its working directory, and
  // the rsagen checkout has a folder of that name. Every path we pass is absolute (or /project/...).
  const cwd = neutralCwd();
  try {
    return await runLogged({
      file,
      args,
      cwd: cwd.dir,
      env: o.runner.kind === "idf-path" ? o.runner.env : o.env,
      logFile: o.logFile,
      onLine: o.onLine,
      onProgress: o.onProgress,
    });
  } finally {
    cwd.dispose();
  }
}

export interface RunLoggedOptions {
  file: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv | undefined;
  logFile: string;
  onLine?: ((line: string) => void) | undefined;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/** Runs a command, appending every output line to logFile and reporting ninja/make progress. */
export async function runLogged(o: RunLoggedOptions): Promise<RunIdfResult> {
  const { file, args } = o;
  const command = [file, ...args].join(" ");
  const log = createWriteStream(o.logFile, { flags: "a" });
  log.write(`$ ${command}\n`);
  const tail: string[] = [];
  const handle = (line: string) => {
    log.write(`${line}\n`);
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    const m = NINJA_PROGRESS.exec(line);
    if (m) o.onProgress?.(Number(m[1]), Number(m[2]));
    else {
      // CMake's Makefile generator prints "[ 42%] Building C object ...".
      const pct = MAKE_PROGRESS.exec(line);
      if (pct) o.onProgress?.(Number(pct[1]), 100);
    }
    o.onLine?.(line);
  };
  let exitCode: number;
  try {
    const sub = execa(file, args, {
      cwd: o.cwd,
      env: o.env ?? process.env,
      extendEnv: false,
      reject: false,
      all: true,
      stdin: "ignore",
      buffer: false,
    });
    let pending = "";
    sub.all?.setEncoding("utf8");
    sub.all?.on("data", (chunk: string) => {
      pending += chunk;
      const parts = pending.split(/\r?\n|\r/);
      pending = parts.pop() ?? "";
      for (const p of parts) handle(p);
    });
    const r = await sub;
    if (pending) handle(pending);
    exitCode = r.exitCode ?? (r.signal ? 128 : 1);
    if (r.failed && r.exitCode === undefined)
      handle(`rsagen: ${r.shortMessage ?? "the command could not run"}`);
  } finally {
    await new Promise<void>((res) => log.end(res));
  }
  return { exitCode, tail, command };
}
