import type { Command } from "commander";
import { contextFor } from "./context.js";
import { notImplemented } from "./not-implemented.js";
import { parseOption, targetSchema } from "./options.js";

export interface BuildOptions {
  target: string | undefined;
  hwMpi: boolean;
  cryptoExtra: boolean;
  host: boolean;
  matrix: boolean;
  docker: string | boolean | undefined;
  buildDir: string | undefined;
  inlineKeygen: boolean;
}

export function registerBuild(program: Command): void {
  program
    .command("build")
    .description("build the firmware with ESP-IDF (or --host: the virtual-board image)")
    .option("-t, --target <target>", "esp32, esp32s2, esp32s3, esp32c3 or esp32c6")
    .option("--hw-mpi", "use the RSA accelerator (CONFIG_MBEDTLS_HARDWARE_MPI, default)", true)
    .option("--no-hw-mpi", "software bignum only")
    .option("--crypto-extra", "compile the keygen feature (CONFIG_TOIT_CRYPTO_EXTRA, default)", true)
    .option("--no-crypto-extra", "leave the keygen feature out (keygen answers 'unsupported')")
    .option("--host", "build the host executable and package it as an image for the virtual board")
    .option("--matrix", "build every target with hardware MPI on and off and print the size table")
    .option("--docker [image]", "build inside the official espressif/idf Docker image")
    .option("--build-dir <dir>", "root of the build folders (default: ./build)")
    .option("--inline-keygen", "negative control: run keygen inline in the command loop (trips the watchdog)")
    .action(async (raw: BuildOptions, cmd: Command) => {
      contextFor(cmd);
      if (raw.target !== undefined) parseOption(targetSchema, raw.target, "--target");
      notImplemented("rsagen build");
    });
}
