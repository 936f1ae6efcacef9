/**
 * rsagen entry point: commander wiring only. Every command is two modules:
 *   - src/cli/<name>.ts declares it (register<Name>: description, options, help text) and imports
 *     nothing heavy: `commander` types and other declarations only, never zod, serialport,
 *     esptool-js, execa, options.ts/config.ts/context.ts or a work module;
 *   - src/cli/actions/<name>.ts runs it (`run(opts, cmd)`: zod validation, the work, rendering) and
 *     is loaded by the declaration's action with `await import(...)` when the command runs.
 * So `rsagen --help` and `rsagen <command> --help` load commander and the declarations only
 * (test/cli/lazy-load.test.ts checks it; docs/architecture.md, "Adding a command").
 */
import { Command, CommanderError } from "commander";
import { RsagenError, toRsagenError } from "../errors.js";
import { registerBuild } from "./build.js";
import { tolerateClosedOutput } from "./closed-output.js";
import { registerCsr } from "./csr.js";
import { registerFlash } from "./flash.js";
import { registerInfo } from "./info.js";
import { registerKeygen } from "./keygen.js";
import { registerMonitor } from "./monitor.js";
import { createOutput } from "./output.js";
import { registerSign } from "./sign.js";
import { registerSim } from "./sim.js";
import { registerSlot } from "./slot.js";
import { VERSION } from "./version.js";

/** The commands, in the order `rsagen --help` lists them. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerBuild,
  registerFlash,
  registerKeygen,
  registerSim,
  registerMonitor,
  registerInfo,
  registerSlot,
  registerCsr,
  registerSign,
];

export function buildProgram(): Command {
  const program = new Command("rsagen")
    .description(
      "Build ESP-IDF firmware for ESP32-family boards, flash it over serial, and generate RSA keys on-chip.",
    )
    .version(VERSION, "-V, --version")
    // ESPPORT/ESPBAUD are read in resolveSettings (not commander's .env()) so the source is known.
    .option("-p, --port <port>", "serial port or rfc2217://host:port (env: ESPPORT)")
    .option(
      "-b, --baud <baud>",
      "baud rate: flash switches to it after connecting at 115200; keygen, info and monitor use it (default: 115200) (env: ESPBAUD)",
    )
    .option("--json", "machine-readable output: one JSON object per line")
    .option("-v, --verbose", "more detail, including full tool logs")
    .option("-q, --quiet", "only errors and the final result")
    .option("--config <file>", "project config file (default: ./rsagen.config.json)")
    .addHelpText(
      "after",
      "\nSettings precedence: command line, then environment (ESPPORT, ESPBAUD), then rsagen.config.json.\n" +
        "Exit codes are listed in README.md.",
    );
  // Set before the commands are added so that they inherit it: commander's own error text is
  // replaced by ours (one line plus a hint, or JSON), and nothing calls process.exit behind us.
  program.exitOverride();
  program.configureOutput({ outputError: () => {} });
  for (const register of COMMANDS) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  tolerateClosedOutput();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander already printed them.
      if (err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version") {
        process.exitCode = 0;
        return;
      }
      const usage = new RsagenError(
        "E_USAGE",
        err.message.replace(/^error: /, ""),
        "run with --help for usage",
      );
      createOutput({ json: wantsJson(argv), verbose: false, quiet: false }).error(usage);
      process.exitCode = usage.exitCode;
      return;
    }
    const e = toRsagenError(err);
    const out = createOutput({ json: wantsJson(argv), verbose: argv.includes("--verbose"), quiet: false });
    out.error(e);
    if (e.code === "E_INTERNAL" && argv.includes("--verbose") && err instanceof Error) {
      process.stderr.write(`${err.stack}\n`);
    }
    process.exitCode = e.exitCode;
  }
}

function wantsJson(argv: string[]): boolean {
  return argv.includes("--json");
}
