/**
 * `rsagen flash` without the terminal: pick the build, plan it (refusing bad input before the
 * port is touched), open the port, run the session, close the port.
 */
import { RsagenError } from "../errors.js";
import { openTransport } from "../serial/transport.js";
import { chooseBuildDir } from "./build-dir.js";
import { planFromBuildDir } from "./manifest-plan.js";
import type { FlashOptions, FlashResult } from "./session.js";
import { flashBoard } from "./session.js";
import { transportPort } from "./transport-port.js";

export const ROM_BAUD = 115200;

export interface RunFlashOptions extends Omit<FlashOptions, "stubPath"> {
  port: string | undefined;
  manifest?: string | undefined;
  buildDir?: string | undefined;
  configBuildDir?: string | undefined;
  target?: string | undefined;
  cwd: string;
  /** Finds a port when none was given (src/serial port discovery). */
  discoverPort?: () => Promise<string>;
}

export async function runFlash(o: RunFlashOptions): Promise<FlashResult & { buildDir: string }> {
  const buildDir = chooseBuildDir(o);
  const plan = planFromBuildDir(buildDir);
  if (o.target && o.target !== plan.target.name) {
    throw new RsagenError(
      "E_USAGE",
      `--target ${o.target} does not match the build in ${buildDir} (${plan.target.name})`,
      "pass the build folder of that target with --build-dir",
    );
  }
  const spec = o.port ?? (o.discoverPort ? await o.discoverPort() : undefined);
  if (!spec) {
    throw new RsagenError(
      "E_NO_PORT",
      "no serial port given",
      "pass --port /dev/ttyUSB0 (or rfc2217://host:port), or set ESPPORT",
    );
  }
  const transport = await openTransport(spec, { baud: ROM_BAUD });
  try {
    const stubPath = o.stub ? (await import("./stub-path.js")).stubPath : undefined;
    const result = await flashBoard(transportPort(transport), plan, {
      ...o,
      ...(stubPath ? { stubPath } : {}),
    });
    return { ...result, buildDir };
  } finally {
    await transport.close().catch(() => {});
  }
}
