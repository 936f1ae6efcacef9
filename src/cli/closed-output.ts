/**
 * When the reader of our output goes away (`rsagen monitor | head`), writes fail with EPIPE, which
 * Node reports as an 'error' event on process.stdout/stderr; unhandled, it kills the process with a
 * stack trace. A reader that left is not a failure: output to that stream is dropped from then on
 * and the command's work goes on (a key job still finishes, is verified, written and released; a
 * flash completes), ending with its usual exit status. A command whose only job is to stream
 * output (monitor) subscribes with onStdoutClosed() and ends quietly.
 */
import type { Writable } from "node:stream";

const listeners = new Set<() => void>();
let installed = false;
let stdoutClosed = false;

/** Installs the EPIPE handling on process.stdout and process.stderr (once per process). */
export function tolerateClosedOutput(): void {
  if (installed) return;
  installed = true;
  onEpipe(process.stdout, () => {
    stdoutClosed = true;
    for (const l of [...listeners]) l();
  });
  onEpipe(process.stderr, () => {});
}

function onEpipe(stream: Writable, closed: () => void): void {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err; // anything else is still a crash, as without a handler
    closed();
  });
}

/** Calls `listener` once stdout's reader has gone (at once if it already has); returns the unsubscribe. */
export function onStdoutClosed(listener: () => void): () => void {
  if (stdoutClosed) {
    queueMicrotask(listener);
    return () => {};
  }
  listeners.add(listener);
  return () => listeners.delete(listener);
}
