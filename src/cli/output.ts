/**
 * Rendering for humans or machines. Under --json every line on stdout is one JSON object
 * (progress events with "event", the final result with "result" or "error"); otherwise text,
 * with progress on stderr so stdout stays pipeable.
 */
import type { Writable } from "node:stream";
import type { RsagenError } from "../errors.js";

export interface Output {
  readonly json: boolean;
  /** Normal human output (suppressed by --quiet, never printed under --json). */
  info(line: string): void;
  /** Only with --verbose. */
  debug(line: string): void;
  warn(line: string): void;
  /** A progress or status event: a JSON line under --json, else a human line via render(). */
  event(name: string, data: Record<string, unknown>, render?: () => string | undefined): void;
  /** Transient progress (a bar that rewrites itself on a TTY). */
  progress(line: string): void;
  /** The final result of a command. */
  result(data: Record<string, unknown>, render: () => string | undefined): void;
  error(err: RsagenError): void;
}

export interface OutputOptions {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  stdout?: Writable & { isTTY?: boolean };
  stderr?: Writable & { isTTY?: boolean };
}

export function createOutput(opts: OutputOptions): Output {
  const out = opts.stdout ?? process.stdout;
  const err = opts.stderr ?? process.stderr;
  const tty = Boolean(err.isTTY);
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) {
      err.write("\r\x1b[K");
      progressShown = false;
    }
  };
  const line = (s: Writable, text: string) => {
    clearProgress();
    s.write(`${text}\n`);
  };
  return {
    json: opts.json,
    info(text) {
      if (!opts.json && !opts.quiet) line(out, text);
    },
    debug(text) {
      if (opts.verbose && !opts.json) line(err, text);
    },
    warn(text) {
      if (opts.json) out.write(`${JSON.stringify({ event: "warning", message: text })}\n`);
      else line(err, `warning: ${text}`);
    },
    event(name, data, render) {
      if (opts.json) {
        out.write(`${JSON.stringify({ event: name, ...data })}\n`);
        return;
      }
      if (opts.quiet || !render) return;
      const text = render();
      if (text !== undefined) line(err, text);
    },
    progress(text) {
      if (opts.json || opts.quiet) return;
      if (tty) {
        err.write(`\r\x1b[K${text}`);
        progressShown = true;
      }
    },
    result(data, render) {
      clearProgress();
      if (opts.json) {
        out.write(`${JSON.stringify({ result: data })}\n`);
        return;
      }
      const text = render();
      if (text !== undefined && !opts.quiet) out.write(`${text}\n`);
    },
    error(e) {
      clearProgress();
      if (opts.json) {
        out.write(`${JSON.stringify(e.toJSON())}\n`);
        return;
      }
      err.write(`error: ${e.message}\n`);
      if (e.hint) err.write(`  hint: ${e.hint}\n`);
    },
  };
}
