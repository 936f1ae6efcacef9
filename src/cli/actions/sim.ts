/** `rsagen sim` at run time: validates the options, starts the virtual board, waits for a signal. */
import type { Command } from "commander";
import { z } from "zod";
import { RsagenError } from "../../errors.js";
import { parseFaultSpecs } from "../../sim/fault-spec.js";
import { parseFlashSize } from "../../sim/flash.js";
import type { TargetName } from "../../targets.js";
import { contextFor } from "../context.js";
import { hostPortSchema, parseOption, targetSchema } from "../options.js";
import type { SimRawOptions } from "../sim.js";

/** The host firmware accepts 1..600000 ms (firmware/host/host_main.c); below 10 ms it cannot run. */
const wdtMsSchema = z
  .string()
  .regex(/^\d+$/, "give the timeout in whole milliseconds")
  .transform(Number)
  .pipe(z.number().min(10, "must be 10..600000 ms").max(600_000, "must be 10..600000 ms"));

const listenSchema = hostPortSchema.refine((v) => Number(v.slice(v.lastIndexOf(":") + 1)) <= 65535, {
  error: "port must be 0..65535 (0 picks a free one)",
});

const engineSchema = z.enum(["host", "qemu"], { error: "must be host or qemu" });

export async function run(raw: SimRawOptions, cmd: Command): Promise<void> {
  const { out } = contextFor(cmd);
  const target = parseOption(targetSchema, raw.target, "--target");
  const engine = parseOption(engineSchema, raw.engine, "--engine", "e.g. --engine qemu");
  const listen = parseOption(listenSchema, raw.listen, "--listen", "e.g. --listen 127.0.0.1:4000");
  const sep = listen.lastIndexOf(":");
  if (engine === "qemu")
    return runQemu(raw, cmd, target, listen.slice(0, sep), Number(listen.slice(sep + 1)));
  if (raw.qemu !== undefined)
    throw new RsagenError("E_USAGE", "--qemu is for --engine qemu", "add --engine qemu, or drop --qemu");
  const wdtMs =
    raw.wdtMs === undefined
      ? undefined
      : parseOption(wdtMsSchema, raw.wdtMs, "--wdt-ms", "e.g. --wdt-ms 5000 (the chip's default)");
  const faultSpecs = raw.fault ?? [];
  const faults = parseFaultSpecs(faultSpecs);
  // Loaded here, not at the top: every other command would pay for the board code at start-up.
  const { startBoard } = await import("../../sim/index.js");
  const board = await startBoard({
    target,
    flashFile: raw.flash,
    flashSize: raw.flashSize ? parseFlashSize(raw.flashSize) : undefined,
    host: listen.slice(0, sep),
    port: Number(listen.slice(sep + 1)),
    pty: Boolean(raw.pty),
    pacing: Boolean(raw.baudPacing),
    wdtMs,
    resetCircuit: raw.usbSerialJtag ? "usb-serial-jtag" : "auto-reset",
    ...(faultSpecs.length > 0 ? { faults } : {}),
  });
  board.on("state", (state, detail) => out.debug(`chip: ${state}${detail ? ` (${detail})` : ""}`));
  out.event("listening", { url: board.url, pty: board.ptyPath ?? null, target, faults }, () =>
    [
      `virtual ${board.target.displayName} on ${board.url}`,
      board.ptyPath ? `console pty: ${board.ptyPath}` : "",
      faultSpecs.length > 0 ? `faults: ${faultSpecs.join(" ")}` : "",
    ]
      .filter(Boolean)
      .join("\n"),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await board.close();
  out.result({ stopped: true }, () => "virtual board stopped");
}

/** `rsagen sim --engine qemu`: the real firmware on Espressif's QEMU behind the same RFC 2217 front. */
async function runQemu(raw: SimRawOptions, cmd: Command, target: TargetName, host: string, port: number) {
  const { out } = contextFor(cmd);
  const hostOnly: [string, unknown][] = [
    ["--wdt-ms", raw.wdtMs],
    ["--fault", raw.fault],
  ];
  for (const [flag, value] of hostOnly) {
    if (value !== undefined)
      throw new RsagenError(
        "E_USAGE",
        `${flag} is for the host engine; the QEMU board runs the firmware as ESP-IDF built it`,
        flag === "--wdt-ms"
          ? "build the firmware with rsagen build --task-wdt <s>"
          : "drop it, or use --engine host",
      );
  }
  const { startQemuBoard } = await import("../../sim/qemu/board.js");
  const board = await startQemuBoard({
    target,
    ...(raw.flash ? { flashFile: raw.flash } : {}),
    ...(raw.flashSize ? { flashSize: parseFlashSize(raw.flashSize) } : {}),
    ...(raw.qemu ? { qemu: raw.qemu } : {}),
    host,
    port,
    pty: Boolean(raw.pty),
    pacing: Boolean(raw.baudPacing),
    resetCircuit: raw.usbSerialJtag ? "usb-serial-jtag" : "auto-reset",
  });
  board.on("state", (state, detail) => out.debug(`chip: ${state}${detail ? ` (${detail})` : ""}`));
  out.event(
    "listening",
    {
      url: board.url,
      pty: board.ptyPath ?? null,
      target,
      engine: "qemu",
      qemu: board.qemuPath,
      flash: board.flashFile,
    },
    () =>
      [
        `QEMU ${target} on ${board.url} (${board.qemuPath})`,
        `flash: ${board.flashFile}`,
        board.ptyPath ? `console pty: ${board.ptyPath}` : "",
        "the flasher stub does not run under QEMU: flash with rsagen flash --no-stub",
      ]
        .filter(Boolean)
        .join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await board.close();
  out.result({ stopped: true }, () => "QEMU board stopped");
}
