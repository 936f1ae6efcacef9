/**
 * `rsagen build` as a user runs it (compiled CLI), with the stand-in idf.py from
 * test/fixtures/idf on PATH because ESP-IDF cannot be installed here; --host uses real CMake.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_CODES } from "../../src/errors.js";
import { jsonLines, REPO_ROOT, runCli } from "../helpers/run-cli.js";

const FIXTURES = join(REPO_ROOT, "test/fixtures/idf");
const PATH_WITH_IDF = [FIXTURES, dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(
  delimiter,
);
const PATH_NO_IDF = [dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(delimiter);
let tmp: string;
let project: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "rsagen-cli-build-"));
  project = join(tmp, "project");
  mkdirSync(join(project, "firmware/host"), { recursive: true });
  cpSync(join(REPO_ROOT, "sdkconfig"), join(project, "sdkconfig"), { recursive: true });
  cpSync(join(REPO_ROOT, "partitions"), join(project, "partitions"), { recursive: true });
  cpSync(join(REPO_ROOT, "firmware/CMakeLists.txt"), join(project, "firmware/CMakeLists.txt"));
  writeFileSync(
    join(project, "firmware/host/CMakeLists.txt"),
    "cmake_minimum_required(VERSION 3.16)\nproject(s C)\noption(RSAGEN_CRYPTO_EXTRA x ON)\noption(RSAGEN_INLINE_KEYGEN x OFF)\nadd_executable(rsagen-fw m.c)\n",
  );
  writeFileSync(join(project, "firmware/host/m.c"), "int main(void){return 0;}\n");
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { cwd: project, env: { PATH: PATH_WITH_IDF, IDF_PATH: "", ...env } });

describe("rsagen build (CLI)", () => {
  it("--json build --target esp32c3 --no-hw-mpi: stage events, then a result with the manifest", () => {
    const r = run(["--json", "build", "--target", "esp32c3", "--no-hw-mpi"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.filter((l) => l.event === "stage").map((l) => l.stage)).toEqual(["build", "size"]);
    const result = lines.at(-1)!.result as {
      dir: string;
      manifest: { toggles: unknown; app: { imageSize: number } };
    };
    expect(result.dir).toBe(join(project, "build/esp32c3-swmpi-cx"));
    expect(result.manifest.toggles).toEqual({ hwMpi: false, cryptoExtra: true, inlineKeygen: false });
    expect(existsSync(join(result.dir, "rsagen.json"))).toBe(true);
  });

  it("text mode prints the size summary and the flash hint", () => {
    const r = run(["build", "-t", "esp32s2", "--inline-keygen"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/built firmware for esp32s2 in .*esp32s2-hwmpi-cx-inline/);
    expect(r.stdout).toMatch(/app image \d+ bytes, partition 1572864 bytes, free \d+ \(\d+\.\d%\)/);
    expect(r.stderr).toMatch(
      /^esp32s2: building the firmware with ESP-IDF \S+ \(idf\.py on PATH\) in build\/esp32s2-hwmpi-cx-inline$/m,
    );
    expect(r.stderr).toMatch(/^esp32s2: reading the image sizes$/m);
  });

  it("--matrix --json: fifteen builds, rows, the hardware-MPI and the key-slot differences", () => {
    const r = run(["--json", "build", "--matrix"]);
    expect(r.status).toBe(0);
    const res = jsonLines(r.stdout).at(-1)!.result as {
      rows: { target: string; hwMpi: boolean; keySlots: boolean }[];
      hwMpiDelta: Record<string, number>;
      keySlotsDelta: Record<string, number>;
    };
    expect(res.rows).toHaveLength(15);
    expect(res.rows.filter((x) => !x.keySlots)).toHaveLength(5);
    expect(Object.keys(res.hwMpiDelta)).toEqual(["esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c6"]);
    expect(Object.keys(res.keySlotsDelta)).toEqual(["esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c6"]);
  });

  it("--matrix --no-key-slots: ten builds, no key-slot column figures", () => {
    const r = run(["--json", "build", "--matrix", "--no-key-slots"]);
    expect(r.status).toBe(0);
    const res = jsonLines(r.stdout).at(-1)!.result as {
      rows: { keySlots: boolean }[];
      keySlotsDelta: object;
    };
    expect(res.rows).toHaveLength(10);
    expect(res.rows.every((x) => !x.keySlots)).toBe(true);
    expect(res.keySlotsDelta).toEqual({});
  });

  it("--matrix in text mode prints the table", () => {
    const r = run(["build", "--matrix", "--target", "esp32c6"]);
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(
      /^target\s+mpi\s+slots\s+image\s+partition\s+free\s+free%\s+hw-sw\s+slots\+$/,
    );
    expect(r.stdout).toMatch(/^esp32c6\s+hw\s+yes\s+\d+\s+1572864\s+\d+\s+[\d.]+%\s+\+3072\s+\+12288$/m);
    expect(r.stdout).toMatch(/^esp32c6\s+sw\s+yes\s+/m);
    expect(r.stdout).toMatch(/^esp32c6\s+hw\s+no\s+/m);
  });

  it("--host --target esp32c3 builds the host image", () => {
    const r = run(["--json", "build", "--host", "--target", "esp32c3"]);
    expect(r.status).toBe(0);
    const res = jsonLines(r.stdout).at(-1)!.result as { dir: string; manifest: { kind: string } };
    expect(res.dir).toBe(join(project, "build/esp32c3-host-cx"));
    expect(res.manifest.kind).toBe("host");
  });

  it("--host in text mode: one readable line per stage on stderr (no raw event names), --json keeps the stage names", () => {
    const r = run(["build", "--host", "--target", "esp32c6", "--no-crypto-extra"]);
    expect(r.status).toBe(0);
    expect(r.stderr.split("\n").filter(Boolean)).toEqual([
      "esp32c6: configuring the host firmware build (CMake) in build/esp32c6-host-nocx",
      "esp32c6: compiling the host firmware",
      "esp32c6: packaging the app image, bootloader and partition table for the virtual board",
    ]);
    expect(r.stdout).toMatch(/^built host image for esp32c6 in .*esp32c6-host-nocx$/m);
    const j = run(["--json", "build", "--host", "--target", "esp32c6", "--no-crypto-extra"]);
    const stages = jsonLines(j.stdout).filter((l) => l.event === "stage");
    expect(stages.map((l) => [l.stage, l.target])).toEqual([
      ["host-configure", "esp32c6"],
      ["host-build", "esp32c6"],
      ["package", "esp32c6"],
    ]);
  });

  const usage: [string, string[], RegExp][] = [
    ["unknown target", ["build", "--target", "esp8266"], /unknown target 'esp8266'/],
    ["no target", ["build"], /--target is required/],
    ["--hw-mpi with --no-hw-mpi", ["build", "-t", "esp32", "--hw-mpi", "--no-hw-mpi"], /contradict/],
    [
      "--crypto-extra with --no-crypto-extra",
      ["build", "-t", "esp32", "--no-crypto-extra", "--crypto-extra"],
      /contradict/,
    ],
    [
      "--inline-keygen with --no-crypto-extra",
      ["build", "-t", "esp32", "--inline-keygen", "--no-crypto-extra"],
      /--inline-keygen/,
    ],
    ["--host with --docker", ["build", "-t", "esp32", "--host", "--docker"], /--docker/],
    ["--host with --no-hw-mpi", ["build", "-t", "esp32", "--host", "--no-hw-mpi"], /do not apply to --host/],
    ["--matrix with --hw-mpi", ["build", "--matrix", "--hw-mpi"], /--matrix/],
    ["--host with --matrix", ["build", "--host", "--matrix"], /cannot be combined/],
  ];
  for (const [name, args, msg] of usage) {
    it(`refuses ${name} (E_USAGE) without writing anything`, () => {
      const before = existsSync(join(project, "build/esp32-hwmpi-cx"));
      const r = run(["--json", ...args]);
      expect(r.status).toBe(EXIT_CODES.E_USAGE);
      const err = jsonLines(r.stdout).at(-1)!.error as { code: string; message: string; hint: string };
      expect(err.code).toBe("E_USAGE");
      expect(err.message).toMatch(msg);
      expect(err.hint.length).toBeGreaterThan(0);
      expect(existsSync(join(project, "build/esp32-hwmpi-cx"))).toBe(before);
    });
  }

  it("no ESP-IDF: exit E_NO_IDF with the three ways in the hint", () => {
    const r = runCli(["build", "--target", "esp32c3"], {
      cwd: project,
      env: { PATH: PATH_NO_IDF, IDF_PATH: "" },
    });
    expect(r.status).toBe(EXIT_CODES.E_NO_IDF);
    expect(r.stderr).toMatch(/^error: ESP-IDF not found/m);
    expect(r.stderr).toMatch(/hint: .*idf\.py on PATH.*IDF_PATH.*--docker/);
  });

  it("a failing build shows the end of the log and exits E_BUILD_FAILED", () => {
    const r = run(["build", "--target", "esp32c3"], { FAKE_IDF_FAIL: "build" });
    expect(r.status).toBe(EXIT_CODES.E_BUILD_FAILED);
    expect(r.stderr).toContain("main.c:12:5: error: 'undefined_thing' undeclared");
    expect(r.stderr).toMatch(/error: idf\.py build for esp32c3 failed/);
    expect(r.stderr).toMatch(/hint: full log: .*rsagen-build\.log/);
  });

  it("--verbose streams the full idf.py output", () => {
    const r = run(["--verbose", "build", "--target", "esp32c3"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("[3/5] Linking CXX executable rsagen.elf");
    expect(r.stderr).toContain("Project build complete.");
  });

  it("run outside an rsagen checkout: builds the installed package's firmware into ./build of the current folder", () => {
    const user = mkdtempSync(join(tmp, "user-"));
    const r = runCli(["--json", "build", "--target", "esp32c3", "--task-wdt", "3"], {
      cwd: user,
      env: { PATH: PATH_WITH_IDF, IDF_PATH: "" },
    });
    expect(r.status, r.stderr).toBe(0);
    const result = jsonLines(r.stdout).at(-1)!.result as { dir: string; manifest: { toggles: unknown } };
    expect(result.dir).toBe(join(user, "build/esp32c3-hwmpi-cx-wdt3"));
    expect(result.manifest.toggles).toMatchObject({ taskWdtS: 3 });
    expect(readFileSync(join(result.dir, "rsagen-toggles.defaults"), "utf8")).toContain(
      "CONFIG_ESP_TASK_WDT_TIMEOUT_S=3",
    );
    // The package (here: this checkout, which the CLI falls back on) got nothing.
    expect(existsSync(join(REPO_ROOT, "build/esp32c3-hwmpi-cx-wdt3"))).toBe(false);
    // ...and rsagen flash finds it there: it reads that build's images (the stand-in idf.py writes
    // placeholder images, so the plan refuses them) before it would touch the port.
    const f = runCli(["flash", "--port", "rfc2217://127.0.0.1:1"], {
      cwd: user,
      env: { PATH: PATH_WITH_IDF },
    });
    expect(f.status).toBe(EXIT_CODES.E_BAD_IMAGE);
    expect(f.stderr).toMatch(/^error: bootloader\.bin: does not start with the image magic/m);
  });

  it("--task-wdt outside 1..60, or with --host, is a usage error", () => {
    for (const bad of ["0", "61", "1.5", "x"]) {
      const r = run(["build", "--target", "esp32c3", "--task-wdt", bad]);
      expect(r.status).toBe(EXIT_CODES.E_USAGE);
      expect(r.stderr).toMatch(/whole seconds from 1 to 60/);
    }
    const h = run(["build", "--host", "--target", "esp32c3", "--task-wdt", "1"]);
    expect(h.status).toBe(EXIT_CODES.E_USAGE);
    expect(h.stderr).toMatch(/rsagen sim --wdt-ms/);
  });
});
