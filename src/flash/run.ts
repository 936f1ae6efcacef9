/**
 * `rsagen flash` without the terminal: pick the build, plan it (refusing bad input before the
 * port is touched), open the port, run the session, close the port.
 */
import { RsagenError } from "../errors.js";
import { openTransport } from "../serial/open-transport.js";
import { resolvePort } from "../serial/ports.js";
import { chooseBuildDir } from "./build-dir.js";
import { planFromBuildDir } from "./manifest-plan.js";
import type { FlashOptions, FlashResult } from "./session.js";
import { flashBoard, StubFailure } from "./session.js";
import { transportPort } from "./transport-port.js";

export const ROM_BAUD = 115200;

export interface RunFlashOptions extends Omit<FlashOptions, "stubPath"> {
  port: string | undefined;
  manifest?: string | undefined;
  buildDir?: string | undefined;
  configBuildDir?: string | undefined;
  target?: string | undefined;
  cwd: string;
  /**
   * Resolves the port: the explicit one (with its USB identity when discovery knows it), else the
   * one board found by USB VID/PID (src/serial/ports.ts; none or several -> E_NO_PORT listing the
   * candidates). Tests pass resolvePort bound to a fake sysfs tree.
   */
  discoverPort?: (explicit: string | undefined) => Promise<ResolvedPort>;
}

export interface ResolvedPort {
  path: string;
  usb?: { vid: number; pid: number } | undefined;
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
  const resolved = await (o.discoverPort ?? ((p) => resolvePort(p)))(o.port);
  o.onEvent?.({
    event: "port",
    path: resolved.path,
    how: o.port === undefined ? "detected" : "given",
    ...(resolved.usb ? { usb: resolved.usb } : {}),
  });
  // The USB identity picks the reset strategy (USB-Serial-JTAG first for 303a:1001, see reset.ts).
  const transport = await openTransport(resolved.path, {
    baud: ROM_BAUD,
    ...(resolved.usb ? { usb: resolved.usb } : {}),
  });
  try {
    const stubPath = o.stub ? (await import("./stub-path.js")).stubPath : undefined;
    const port = transportPort(transport);
    try {
      const result = await flashBoard(port, plan, { ...o, ...(stubPath ? { stubPath } : {}) });
      return { ...result, buildDir };
    } catch (err) {
      // The stub failed where the ROM loader had answered (seen under Espressif's QEMU): reset into
      // the ROM loader again and write with it; regions the stub already verified are skipped.
      if (!(err instanceof StubFailure) || o.before === "no-reset") throw err;
      o.onEvent?.({
        event: "warning",
        message: `the flasher stub failed (${err.message}); retrying with the ROM loader (as --no-stub)`,
      });
      await port.setBaud(ROM_BAUD);
      const result = await flashBoard(port, plan, { ...o, stub: false });
      return { ...result, buildDir };
    }
  } finally {
    await transport.close().catch(() => {});
  }
}
