/**
 * Getting the chip into its ROM loader and in sync: reset strategies cycled with retries
 * (esptool's connect loop: 7 attempts, 5 SYNCs each), and a final error that says what to try.
 */
import { RsagenError } from "../errors.js";
import type { FlashEvent } from "./events.js";
import { LinkTimeout, PacketLink } from "./link.js";
import type { FlashPort } from "./port.js";
import { type Before, type ResetStrategy, resetPlan, runSteps } from "./reset.js";
import { RomCommandError, RomLoader } from "./rom-loader.js";

export interface Connection {
  link: PacketLink;
  loader: RomLoader;
  strategy: ResetStrategy["name"];
  /** SYNC answered with val 0: a flasher stub from an earlier session is still running. */
  stubRunning: boolean;
}

export interface ConnectOptions {
  attempts?: number;
  syncsPerAttempt?: number;
  onEvent?: (e: FlashEvent) => void;
}

export async function connect(
  port: FlashPort,
  before: Before,
  opts: ConnectOptions = {},
): Promise<Connection> {
  const attempts = opts.attempts ?? 7;
  const syncs = opts.syncsPerAttempt ?? 5;
  let plan = resetPlan(before, port);
  const link = new PacketLink(port);
  const loader = new RomLoader(link);
  const tried = new Set<string>();
  // Everything the chip prints while we try (ROM banners) tells a normal boot from download mode.
  link.clearText();
  try {
    for (let i = 0; i < attempts; i++) {
      const strategy = plan[i % plan.length]!;
      tried.add(strategy.name);
      opts.onEvent?.({ event: "connecting", attempt: i + 1, attempts, reset: strategy.name });
      link.flush();
      if (strategy.steps.length > 0) {
        try {
          await runSteps(port, strategy.steps);
        } catch (err) {
          if (link.portLost) throw link.portLost;
          // A pty or a bridge without modem lines: no reset is possible, only a plain sync.
          opts.onEvent?.({
            event: "warning",
            message: `${port.description} cannot drive DTR/RTS (${(err as Error).message}); trying without reset`,
          });
          plan = plan.filter((s) => s.steps.length === 0);
          if (plan.length === 0) break;
          continue;
        }
      }
      for (let s = 0; s < syncs; s++) {
        try {
          const { stubRunning } = await loader.sync();
          if (stubRunning) loader.statusBytes = 2;
          return { link, loader, strategy: strategy.name, stubRunning };
        } catch (err) {
          if (link.portLost) throw link.portLost;
          if (!(err instanceof LinkTimeout) && !(err instanceof RomCommandError)) throw err;
        }
      }
    }
  } catch (err) {
    link.detach();
    throw err;
  }
  link.detach();
  throw noSyncError(port, [...tried], link.text);
}

function noSyncError(port: FlashPort, tried: string[], banner: string): RsagenError {
  const how = `tried: ${tried.join(", ")}`;
  const boot = /boot:(0x[0-9a-f]+)([^\n]*\n?[^\n]*(?:waiting for download|download))?/i.exec(banner);
  if (boot && !boot[2]) {
    return new RsagenError(
      "E_NO_SYNC",
      `the board on ${port.description} booted normally (boot:${boot[1]}), not into download mode (${how})`,
      "hold BOOT (GPIO0, GPIO9 on C3/C6) while pressing RESET, then run again with --before no-reset",
    );
  }
  if (boot) {
    return new RsagenError(
      "E_NO_SYNC",
      `the board on ${port.description} is in download mode but does not answer SYNC (${how})`,
      "the board's RX line seems down: check the cable and that nothing else has the port open",
    );
  }
  return new RsagenError(
    "E_NO_SYNC",
    `no answer from an ESP loader on ${port.description} (${how})`,
    "hold BOOT while pressing RESET and retry with --before no-reset; try a lower --baud or another cable; check that this is the board's port",
  );
}
