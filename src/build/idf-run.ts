/**
 * Running idf.py (directly or in Docker) with streamed output: every line goes to the log file and
 * to onLine; ninja's "[n/total]" prefix becomes a progress callback. Nothing here prints.
 */
import { createWriteStream } from "node:fs";
import { relative, resolve, sep } from "node:path";
import { execa } from "execa";
import { RsagenError } from "../errors.js";
import type { IdfRunner } from "./idf-env.js";

/** Where the project root is mounted in the container. */
export const DOCKER_PROJECT_DIR = "/project";

/** Maps a host path to the path the runner sees (unchanged unless Docker). */
export function runnerPath(runner: IdfRunner, projectRoot: string, hostPath: string): string {
  if (runner.kind !== "docker") return hostPath;
  const rel = relative(projectRoot, resolve(hostPath));
  if (rel.startsWith("..") || resolve(rel) === rel) {
    throw new RsagenError(
      "E_USAGE",
      `with --docker every path must be inside the project (${projectRoot}), but ${hostPath} is not`,
      "use a --build-dir inside the project",
    );
  }
  return rel === "" ? DOCKER_PROJECT_DIR : `${DOCKER_PROJECT_DIR}/${rel.split(sep).join("/")}`;
}

/** The command line that runs `idf.py <args>` (args already use runner paths). */
export function idfCommand(
  runner: IdfRunner,
  projectRoot: string,
  args: string[],
  ids: { uid: number; gid: number } = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
): { file: string; args: string[] } {
  switch (runner.kind) {
    case "path":
    case "idf-path":
      return { file: runner.idfPy, args };
    case "docker":
      // docs/en/api-guides/tools/idf-docker-image.rst: mount the project, run as the caller so the
      // build output is not root-owned, HOME in /tmp, and tell git the mount is safe.
      return {
        file: "docker",
        args: [
          "run",
          "--rm",
          "-v",
          `${projectRoot}:${DOCKER_PROJECT_DIR}`,
          "-w",
          DOCKER_PROJECT_DIR,
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
  projectRoot: string;
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
  const { file, args } = idfCommand(o.runner, o.projectRoot, o.args);
  return runLogged({
    file,
    args,
    cwd: o.projectRoot,
    env: o.env,
    logFile: o.logFile,
    onLine: o.onLine,
    onProgress: o.onProgress,
  });
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
