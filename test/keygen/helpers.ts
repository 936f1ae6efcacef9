import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RsagenError } from "../../src/errors.js";
import { ClientBoard } from "../../src/keygen/client-board.js";
import { type KeygenEvent, type KeygenOptions, type KeygenResult, runKeygen } from "../../src/keygen/job.js";
import { openTransport } from "../../src/serial/open-transport.js";
import { FakeBoard, type FakeBoardOptions } from "./fake-board.js";

export interface Run {
  result?: KeygenResult;
  error?: RsagenError;
  events: KeygenEvent[];
  dir: string;
  board: FakeBoard;
}

/** Runs one keygen against a fake board over a real RFC 2217 connection. */
export async function keygenAgainst(
  fake: FakeBoardOptions,
  opts: Partial<KeygenOptions> & { bits?: number } = {},
): Promise<Run> {
  const board = await FakeBoard.start(fake);
  const dir = mkdtempSync(join(tmpdir(), "rsagen-keygen-"));
  const transport = await openTransport(board.url);
  const client = new ClientBoard(transport);
  const events: KeygenEvent[] = [];
  const run: Run = { events, dir, board };
  try {
    run.result = await runKeygen(
      client,
      {
        bits: opts.bits ?? 1024,
        exponent: 65537,
        timeoutMs: 20_000,
        heartbeatMs: 100,
        statusPollMs: 300,
        bootWaitMs: 1500,
        ...opts,
        save: {
          out: dir,
          prefix: undefined,
          format: "pem",
          private: "pkcs8",
          publicOnly: false,
          force: false,
          ...opts.save,
        },
      },
      (ev) => events.push(ev),
    );
  } catch (err) {
    if (!(err instanceof RsagenError)) throw err;
    run.error = err;
  } finally {
    await client.close();
    await transport.close();
    await board.stop();
  }
  return run;
}

export function cleanup(run: Run): void {
  rmSync(run.dir, { recursive: true, force: true });
}
