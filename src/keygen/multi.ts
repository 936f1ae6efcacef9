/**
 * Keygen on several boards at once: one independent job per port, run in parallel. One board's
 * failure never stops the others; every board gets its own result. With a fixed --prefix the
 * port's label is appended so two boards never aim at the same file.
 */
import { type RsagenError, toRsagenError } from "../errors.js";
import { type KeygenEvent, type KeygenOptions, type KeygenResult, runKeygen } from "./job.js";
import { portLabel } from "./ports.js";
import { type BoardSession, openBoard } from "./session.js";

export type BoardOutcome =
  | { port: string; ok: true; result: KeygenResult }
  | { port: string; ok: false; error: RsagenError };

export interface MultiOptions {
  baud?: number;
  open?: (port: string) => Promise<BoardSession>;
}

export async function keygenOnPorts(
  ports: string[],
  opts: KeygenOptions,
  onEvent: (port: string, ev: KeygenEvent) => void,
  multi: MultiOptions = {},
): Promise<BoardOutcome[]> {
  const open = multi.open ?? ((p: string) => openBoard(p, multi.baud));
  return Promise.all(
    ports.map(async (port): Promise<BoardOutcome> => {
      let session: BoardSession | undefined;
      try {
        session = await open(port);
        const prefix =
          opts.save.prefix !== undefined && ports.length > 1
            ? `${opts.save.prefix}-${portLabel(port)}`
            : opts.save.prefix;
        const result = await runKeygen(session.board, { ...opts, save: { ...opts.save, prefix } }, (ev) =>
          onEvent(port, ev),
        );
        return { port, ok: true, result };
      } catch (err) {
        return { port, ok: false, error: toRsagenError(err) };
      } finally {
        await session?.close();
      }
    }),
  );
}
