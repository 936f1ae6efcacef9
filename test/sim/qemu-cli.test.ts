/**
 * `rsagen sim --engine qemu`: option checks that need no QEMU (bad engine, host-only options, a
 * target Espressif's QEMU has no machine for, a --qemu that is not one). Running the real firmware
 * on the QEMU board is test/qemu/.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXIT_CODES } from "../../src/errors.js";
import { runCli } from "../helpers/run-cli.js";

const tmp = mkdtempSync(join(tmpdir(), "rsagen-qemu-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sim = (args: string[]) => runCli(["sim", "--listen", "127.0.0.1:0", ...args], { timeoutMs: 20_000 });

describe("rsagen sim --engine", () => {
  it("rejects an unknown engine", () => {
    const r = sim(["--engine", "unicorn"]);
    expect(r.status).toBe(EXIT_CODES.E_USAGE);
    expect(r.stderr).toMatch(/^error: --engine.*must be host or qemu/m);
  });

  it("refuses host-engine options with qemu, and --qemu with the host engine", () => {
    const a = sim(["--engine", "qemu", "--wdt-ms", "1000"]);
    expect(a.status).toBe(EXIT_CODES.E_USAGE);
    expect(a.stderr).toMatch(/hint: build the firmware with rsagen build --task-wdt/);
    const b = sim(["--engine", "qemu", "--fault", "noise=1e-4"]);
    expect(b.status).toBe(EXIT_CODES.E_USAGE);
    const c = sim(["--qemu", "/usr/bin/true"]);
    expect(c.status).toBe(EXIT_CODES.E_USAGE);
    expect(c.stderr).toMatch(/--qemu is for --engine qemu/);
  });

  it("a target without a QEMU machine is E_NO_QEMU naming the ones there are", () => {
    const r = sim(["--engine", "qemu", "--target", "esp32s3"]);
    expect(r.status).toBe(EXIT_CODES.E_NO_QEMU);
    expect(r.stderr).toMatch(/has no ESP32-S3 machine \(it emulates esp32 and esp32c3\)/);
  });

  it("--qemu that is not an executable, or a QEMU without the machine, is E_NO_QEMU", () => {
    const a = sim(["--engine", "qemu", "--qemu", join(tmp, "nope")]);
    expect(a.status).toBe(EXIT_CODES.E_NO_QEMU);
    expect(a.stderr).toMatch(/is not an executable file/);
    // A stand-in "QEMU" that lists machines, none of them Espressif's (like upstream QEMU).
    const fake = join(tmp, "qemu-system-riscv32");
    writeFileSync(
      fake,
      "#!/bin/sh\necho 'Supported machines are:'\necho 'virt                 RISC-V VirtIO board'\n",
      {
        mode: 0o755,
      },
    );
    const b = sim(["--engine", "qemu", "--qemu", fake]);
    expect(b.status).toBe(EXIT_CODES.E_NO_QEMU);
    expect(b.stderr).toMatch(/has no 'esp32c3' machine/);
  });
});
