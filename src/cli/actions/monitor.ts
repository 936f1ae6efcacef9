/** `rsagen monitor` at run time: the board's console on stdout, keys from stdin to the board. */
import type { Command } from "commander";
import { onStdoutClosed } from "../closed-output.js";
import { contextFor } from "../context.js";
import type { MonitorOptions } from "../monitor.js";

/** Ctrl-] (as in telnet and idf.py monitor) and Ctrl-C end the monitor. */
const EXIT_KEYS = new Set([0x1d, 0x03]);

export async function run(raw: MonitorOptions, cmd: Command): Promise<void> {
  const { settings, out } = contextFor(cmd);
  // No --port: the one board found on USB (E_NO_PORT for none or several), as rsagen flash does.
  const port = settings.port ?? (await (await import("../../serial/ports.js")).resolvePort(undefined)).path;
  const { openTransport } = await import("../../serial/open-transport.js");
  const { startMonitor } = await import("../../keygen/monitor.js");
  const t = await openTransport(port, { baud: settings.baud ?? 115200 });
  const stdout = process.stdout;
  const mon = await startMonitor(t, { reset: raw.reset }, (item) => {
    if (out.json) {
      const data =
        item.kind === "text" ? { text: Buffer.from(item.bytes).toString("latin1") } : { frame: item.text };
      stdout.write(`${JSON.stringify({ event: item.kind, ...data })}\n`);
    } else if (item.kind === "text") stdout.write(item.bytes);
    else if (raw.raw) stdout.write(`${Buffer.from(item.raw).toString("hex")}\n`);
    // Dimmed on a terminal only: redirected to a file or a pipe, the line stays plain text.
    else stdout.write(stdout.isTTY ? `\x1b[2m${item.text}\x1b[0m\n` : `${item.text}\n`);
  });
  out.info(`--- rsagen monitor on ${port} (Ctrl-] or Ctrl-C exits) ---`);
  // Ends on an exit key, Ctrl-C, a lost port, or a reader that went away (`| head`): exit 0.
  await new Promise<void>((resolve) => {
    const stdin = process.stdin;
    const finish = () => {
      stdin.off("data", onKey);
      if (stdin.isTTY) stdin.setRawMode(false);
      stdin.pause();
      t.off("close", finish);
      process.off("SIGINT", finish);
      stopWatchingStdout();
      resolve();
    };
    const onKey = (b: Buffer) => {
      if (b.some((c) => EXIT_KEYS.has(c))) return finish();
      void mon.send(b);
    };
    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on("data", onKey);
    stdin.resume();
    t.once("close", finish);
    process.once("SIGINT", finish);
    const stopWatchingStdout = onStdoutClosed(finish);
  });
  mon.stop();
  await t.close().catch(() => {});
}
