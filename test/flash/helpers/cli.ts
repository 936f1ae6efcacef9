/**
 * Runs the compiled CLI without blocking this process (the virtual board runs in the test's own
 * event loop, so spawnSync would starve it).
 */
import { spawn } from "node:child_process";
import { CLI } from "../../helpers/run-cli.js";

export function runCliAsync(
  args: string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, ...opts.env };
    if (!opts.env || !("ESPPORT" in opts.env)) delete env.ESPPORT;
    if (!opts.env || !("ESPBAUD" in opts.env)) delete env.ESPBAUD;
    const p = spawn(process.execPath, [CLI, ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
