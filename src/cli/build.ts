/**
 * `rsagen build`: the declaration (options and help). The work runs in ./actions/build.ts, loaded
 * only when the command runs (see docs/architecture.md, "Adding a command").
 */
import type { Command } from "commander";

export interface BuildOptions {
  target: string | undefined;
  hwMpi: boolean;
  cryptoExtra: boolean;
  host: boolean;
  matrix: boolean;
  docker: string | boolean | undefined;
  buildDir: string | undefined;
  inlineKeygen: boolean;
  keySlots: boolean;
  taskWdt: string | undefined;
}

export function registerBuild(program: Command): void {
  // Commander keeps only the last of --x/--no-x; remember both to refuse a contradiction.
  const seen = new Set<string>();
  const cmd = program
    .command("build")
    .description("build the firmware with ESP-IDF (or --host: the virtual-board image)")
    .option("-t, --target <target>", "esp32, esp32s2, esp32s3, esp32c3 or esp32c6")
    .option("--hw-mpi", "use the RSA accelerator (CONFIG_MBEDTLS_HARDWARE_MPI)", true)
    .option("--no-hw-mpi", "software bignum only")
    .option("--crypto-extra", "compile the keygen feature (CONFIG_TOIT_CRYPTO_EXTRA)", true)
    .option("--no-crypto-extra", "leave the keygen feature out (keygen answers 'unsupported')")
    .option(
      "--no-key-slots",
      "leave out keys kept on the board, CSR and signing (CONFIG_RSAGEN_KEY_SLOTS, on by default)",
    )
    .option("--host", "build the host executable and package it as an image for the virtual board")
    .option(
      "--matrix",
      "build every target with hardware MPI on and off, and without key slots, and print the size table",
    )
    .option(
      "--docker [image]",
      "build inside the official ESP-IDF Docker image (default image: espressif/idf:v5.5)",
    )
    .option("--build-dir <dir>", "root of the build folders (default: ./build)")
    .option(
      "--task-wdt <seconds>",
      "task watchdog timeout of the ESP-IDF build, 1..60 (default: 5, from sdkconfig/)",
    )
    .option(
      "--inline-keygen",
      "negative control: run keygen inline in the command loop (trips the watchdog)",
    );
  for (const flag of ["hw-mpi", "no-hw-mpi", "crypto-extra", "no-crypto-extra"])
    cmd.on(`option:${flag}`, () => seen.add(flag));
  cmd.action(async (opts: BuildOptions, c: Command) =>
    (await import("./actions/build.js")).run(opts, c, seen),
  );
}
