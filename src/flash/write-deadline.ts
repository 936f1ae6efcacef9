/**
 * A bound on one serial write. A write that never completes (a port that stops taking data, or
 * serialport's poller losing its wait for "writable": src/serial/poll-interests.ts) must end the
 * flash with a clear error, not a hang: every other wait of the loaders already has a timeout.
 */
import { RsagenError } from "../errors.js";

/** Slack on top of the wire time, and the factor on it (a loaded host, a paced board). */
const WRITE_SLACK_MS = 2000;
const WIRE_TIME_FACTOR = 4;

/** How long writing `bytes` at `baud` (8N1: 10 bits a byte) may take. */
export function writeDeadlineMs(bytes: number, baud: number): number {
  return WRITE_SLACK_MS + Math.ceil((WIRE_TIME_FACTOR * bytes * 10 * 1000) / Math.max(1, baud));
}

/** Runs `write`; rejects with E_PORT_LOST if it has not finished within writeDeadlineMs. */
export async function withWriteDeadline(
  write: Promise<void>,
  bytes: number,
  baud: number,
  port: string,
): Promise<void> {
  const ms = writeDeadlineMs(bytes, baud);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RsagenError(
            "E_PORT_LOST",
            `writing ${bytes} bytes to ${port} did not finish within ${ms} ms: the port stopped taking data`,
            "check the cable and that nothing else holds the port, then flash again (nothing is reported written unless its MD5 matched)",
          ),
        ),
      ms,
    );
  });
  try {
    await Promise.race([write, expired]);
  } finally {
    clearTimeout(timer);
  }
}
