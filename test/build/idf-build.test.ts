/**
 * ESP-IDF invocation, checked with a stand-in idf.py (test/fixtures/idf/) placed first on PATH,
 * and a stand-in `docker` for --docker. ESP-IDF cannot exist in this environment (no PyPI, no
 * Espressif toolchains, no Docker daemon), so these tests check what rsagen controls: the argv, the
 * SDKCONFIG_DEFAULTS list, one folder per toggle set, the size report, the manifest and the errors.
 * They do not prove that a real ESP-IDF accepts the firmware.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { idfBuild } from "../../src/build/idf-build.js";
import { findIdf } from "../../src/build/idf-env.js";
import { loadManifest } from "../../src/build/manifest.js";
import { idfMatrix } from "../../src/build/matrix.js";
import { formatSizeTable } from "../../src/build/size-report.js";
import { DEFAULT_TOGGLES } from "../../src/build/toggles.js";
import { RsagenError } from "../../src/errors.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURES = join(ROOT, "test/fixtures/idf");
const SYSTEM_PATH = [dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(delimiter);

let tmp: string;
let project: string;
let record: string;

function env(extra: Record<string, string> = {}, withIdf = true): NodeJS.ProcessEnv {
  return {
    PATH: withIdf ? `${FIXTURES}${delimiter}${SYSTEM_PATH}` : SYSTEM_PATH,
    FAKE_IDF_RECORD: record,
    ...extra,
  };
}

function calls(): { argv: string[]; cwd: string }[] {
  if (!existsSync(record)) return [];
  return readFileSync(record, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

async function expectError(p: Promise<unknown>, code: string, msg?: RegExp): Promise<RsagenError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RsagenError);
  const e = err as RsagenError;
  expect(e.code).toBe(code);
  if (msg) expect(e.message).toMatch(msg);
  return e;
}

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "rsagen-idf-"));
  project = join(tmp, "project");
  mkdirSync(join(project, "firmware"), { recursive: true });
  cpSync(join(ROOT, "sdkconfig"), join(project, "sdkconfig"), { recursive: true });
  cpSync(join(ROOT, "partitions"), join(project, "partitions"), { recursive: true });
  cpSync(join(ROOT, "firmware/CMakeLists.txt"), join(project, "firmware/CMakeLists.txt"));
  record = join(tmp, "calls.jsonl");
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const base = () => ({ projectRoot: project, version: "0.1.0", toggles: { ...DEFAULT_TOGGLES } });

describe("idf.py invocation (stand-in idf.py)", () => {
  it("builds esp32c3 with the composed defaults, runs size json2 and writes a loadable manifest", async () => {
    const stages: string[] = [];
    const progress: [number, number][] = [];
    const r = await idfBuild({
      ...base(),
      target: "esp32c3",
      env: env(),
      events: { stage: (s) => stages.push(s), progress: (d, t) => progress.push([d, t]) },
    });
    const dir = join(project, "build/esp32c3-hwmpi-cx");
    expect(r.dir).toBe(dir);
    const c = calls();
    expect(c.map((x) => x.argv.at(-1) === "--version" || x.argv.includes("--version"))).toEqual([
      true,
      false,
      false,
    ]);
    const common = [
      "-C",
      join(project, "firmware"),
      "-B",
      dir,
      `-DSDKCONFIG=${dir}/sdkconfig`,
      `-DSDKCONFIG_DEFAULTS=${project}/sdkconfig/common.defaults;${project}/sdkconfig/esp32c3.defaults;${dir}/rsagen-toggles.defaults`,
      "-DIDF_TARGET=esp32c3",
      "-DPROJECT_VER=0.1.0",
    ];
    expect(c[1]!.argv).toEqual([...common, "build"]);
    expect(c[2]!.argv).toEqual([...common, "size", "--format", "json2", "--output-file", `${dir}/size.json`]);
    expect(stages).toEqual(["build", "size"]);
    expect(progress.at(-1)).toEqual([5, 5]);
    const sdk = readFileSync(join(dir, "sdkconfig"), "utf8");
    expect(sdk).toContain("CONFIG_MBEDTLS_HARDWARE_MPI=y");
    expect(sdk).toContain("CONFIG_TOIT_CRYPTO_EXTRA=y");
    expect(sdk).toContain("# CONFIG_RSAGEN_INLINE_KEYGEN is not set");

    const m = loadManifest(dir);
    expect(m.manifest.target).toBe("esp32c3");
    expect(m.manifest.idfVersion).toBe("v5.5.5");
    expect(m.files.map((f) => [f.role, f.offset])).toEqual([
      ["bootloader", 0x0],
      ["partition-table", 0x8000],
      ["app", 0x10000],
    ]);
    const app = m.manifest.app;
    expect(app.imageSize).toBe(180000 + 3072 + 20480 + 12288); // stand-in sizes: MPI, keygen, key slots
    expect(app.partitionSize).toBe(0x180000);
    expect(app.freeBytes).toBe(0x180000 - app.imageSize);
    expect(app.freePercent).toBeCloseTo((100 * app.freeBytes) / 0x180000, 1);
    expect(app.memory?.map((x) => x.name)).toEqual(["Flash Code", "Flash Data", "DRAM"]);
    expect(m.manifest.flash).toEqual({ mode: "dio", size: "4MB", freq: "80m" });
  });

  it("keeps one folder per toggle set; the toggles reach sdkconfig", async () => {
    await idfBuild({ ...base(), target: "esp32", env: env() });
    await idfBuild({
      ...base(),
      target: "esp32",
      toggles: { hwMpi: false, cryptoExtra: false, inlineKeygen: false },
      env: env(),
    });
    await idfBuild({
      ...base(),
      target: "esp32",
      toggles: { hwMpi: true, cryptoExtra: true, inlineKeygen: true },
      env: env(),
    });
    const hw = loadManifest(join(project, "build/esp32-hwmpi-cx"));
    const sw = loadManifest(join(project, "build/esp32-swmpi-nocx"));
    const inl = loadManifest(join(project, "build/esp32-hwmpi-cx-inline"));
    expect(hw.manifest.toggles).toEqual({ hwMpi: true, cryptoExtra: true, inlineKeygen: false });
    expect(sw.manifest.toggles).toEqual({ hwMpi: false, cryptoExtra: false, inlineKeygen: false });
    expect(inl.manifest.toggles.inlineKeygen).toBe(true);
    expect(hw.files[0]!.offset).toBe(0x1000); // esp32 bootloader offset
    const swCfg = readFileSync(join(project, "build/esp32-swmpi-nocx/sdkconfig"), "utf8");
    expect(swCfg).toContain("# CONFIG_MBEDTLS_HARDWARE_MPI is not set");
    expect(swCfg).toContain("# CONFIG_TOIT_CRYPTO_EXTRA is not set");
    expect(readFileSync(join(project, "build/esp32-hwmpi-cx-inline/sdkconfig"), "utf8")).toContain(
      "CONFIG_RSAGEN_INLINE_KEYGEN=y",
    );
    // Without crypto-extra the key slots are out too (they depend on it).
    expect(hw.manifest.app.imageSize - sw.manifest.app.imageSize).toBe(3072 + 20480 + 12288);
  });

  it("--matrix builds every target with MPI on and off, and without key slots, and reports both costs", async () => {
    const r = await idfMatrix({ ...base(), env: env() });
    expect(
      r.rows.map((x) => `${x.target}:${x.hwMpi ? "hw" : "sw"}:${x.keySlots ? "slots" : "noslots"}`),
    ).toEqual(
      ["esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c6"].flatMap((t) => [
        `${t}:hw:slots`,
        `${t}:sw:slots`,
        `${t}:hw:noslots`,
      ]),
    );
    expect(r.hwMpiDelta).toEqual({ esp32: 3072, esp32s2: 3072, esp32s3: 3072, esp32c3: 3072, esp32c6: 3072 });
    expect(r.keySlotsDelta).toEqual({
      esp32: 12288,
      esp32s2: 12288,
      esp32s3: 12288,
      esp32c3: 12288,
      esp32c6: 12288,
    });
    expect(r.builds.map((b) => b.dir.split("/").pop()).slice(0, 3)).toEqual([
      "esp32-hwmpi-cx",
      "esp32-swmpi-cx",
      "esp32-hwmpi-cx-noslots",
    ]);
    expect(readFileSync(join(r.builds[2]!.dir, "sdkconfig"), "utf8")).toContain(
      "# CONFIG_RSAGEN_KEY_SLOTS is not set",
    );
    const table = formatSizeTable(r.rows);
    expect(table.split("\n")).toHaveLength(16);
    expect(table).toMatch(/^esp32c6\s+hw\s+yes\s+215840\s+1572864\s+1357024\s+86\.3%\s+\+3072\s+\+12288$/m);
    expect(table).toMatch(/^esp32c6\s+hw\s+no\s+203552\s+1572864\s+1369312\s+87\.1%$/m);
    // ESP-IDF was looked up once (one --version call), then two idf.py calls per build.
    expect(calls().filter((x) => x.argv.includes("--version"))).toHaveLength(1);
    expect(calls()).toHaveLength(1 + 15 * 2);
  });

  it("regenerates sdkconfig when a defaults file changed since the last build", async () => {
    await idfBuild({ ...base(), target: "esp32s3", env: env() });
    const dir = join(project, "build/esp32s3-hwmpi-cx");
    expect(readFileSync(join(dir, "sdkconfig"), "utf8")).toContain("CONFIG_ESP_MAIN_TASK_STACK_SIZE=8192");
    const common = join(project, "sdkconfig/common.defaults");
    writeFileSync(common, readFileSync(common, "utf8").replace("STACK_SIZE=8192", "STACK_SIZE=10240"));
    const stages: string[] = [];
    await idfBuild({ ...base(), target: "esp32s3", env: env(), events: { stage: (s) => stages.push(s) } });
    expect(stages[0]).toBe("sdkconfig-reset");
    expect(readFileSync(join(dir, "sdkconfig"), "utf8")).toContain("CONFIG_ESP_MAIN_TASK_STACK_SIZE=10240");
    // Unchanged defaults: the user's sdkconfig (e.g. menuconfig edits) is kept.
    const stages2: string[] = [];
    await idfBuild({ ...base(), target: "esp32s3", env: env(), events: { stage: (s) => stages2.push(s) } });
    expect(stages2).not.toContain("sdkconfig-reset");
  });

  it("ESP-IDF v5.1/5.2: builds, skips json2 size, still reports image vs partition", async () => {
    const r = await idfBuild({ ...base(), target: "esp32c6", env: env({ FAKE_IDF_VERSION: "v5.2.3" }) });
    expect(calls().some((c) => c.argv.includes("size"))).toBe(false);
    expect(r.manifest.app.memory).toBeUndefined();
    expect(r.manifest.app.partitionSize).toBe(0x180000);
    expect(r.manifest.idfVersion).toBe("v5.2.3");
  });
});

describe("ESP-IDF discovery", () => {
  it("no ESP-IDF anywhere: a clear error naming the three ways, nothing written", async () => {
    const e = await expectError(
      idfBuild({ ...base(), target: "esp32c3", env: env({}, false) }),
      "E_NO_IDF",
      /not found/,
    );
    expect(e.hint).toMatch(/idf\.py on PATH/);
    expect(e.hint).toMatch(/IDF_PATH/);
    expect(e.hint).toMatch(/--docker/);
    expect(existsSync(join(project, "build"))).toBe(false);
  });

  it("refuses ESP-IDF v4.x and v5.0", async () => {
    await expectError(findIdf({ env: env({ FAKE_IDF_VERSION: "v4.4.6" }) }), "E_NO_IDF", /v4\.4\.6.*v5\.1/);
    await expectError(findIdf({ env: env({ FAKE_IDF_VERSION: "v5.0.7" }) }), "E_NO_IDF", /v5\.0\.7/);
    await expectError(findIdf({ env: env({ FAKE_IDF_VERSION: "v6.0" }) }), "E_NO_IDF");
    expect((await findIdf({ env: env({ FAKE_IDF_VERSION: "v5.4.2-dirty" }) })).version.text).toBe(
      "v5.4.2-dirty",
    );
  });

  it("finds ESP-IDF through IDF_PATH (version from tools/cmake/version.cmake) and runs its tools/idf.py", async () => {
    const idf = join(tmp, "esp-idf");
    mkdirSync(join(idf, "tools/cmake"), { recursive: true });
    writeFileSync(
      join(idf, "tools/cmake/version.cmake"),
      "set(IDF_VERSION_MAJOR 5)\nset(IDF_VERSION_MINOR 4)\nset(IDF_VERSION_PATCH 1)\n",
    );
    writeFileSync(join(idf, "tools/idf.py"), `#!/bin/sh\nexec node "${FIXTURES}/fake-idf.cjs" "$@"\n`, {
      mode: 0o755,
    });
    const e = env({ IDF_PATH: idf }, false);
    const runner = await findIdf({ env: e });
    expect(runner).toMatchObject({ kind: "idf-path", idfPy: join(idf, "tools/idf.py") });
    expect(runner.version.text).toBe("v5.4.1");
    const r = await idfBuild({ ...base(), target: "esp32s2", env: e });
    expect(r.manifest.idfVersion).toBe("v5.4.1");
    expect(calls().map((c) => c.argv.at(-1))).toEqual(["build", `${r.dir}/size.json`]);
  });

  it("never runs idf.py where a folder named sdkconfig is (idf.py reads ./sdkconfig even for --version)", async () => {
    // The project itself has one (sdkconfig/ holds our defaults); so does an rsagen checkout.
    const r = await idfBuild({ ...base(), target: "esp32c3", env: env() });
    expect(r.manifest.target).toBe("esp32c3");
    const cwds = calls().map((c) => c.cwd);
    expect(cwds.length).toBeGreaterThanOrEqual(3);
    for (const cwd of cwds) expect(existsSync(join(cwd, "sdkconfig"))).toBe(false);
  });

  it("a Python environment without a module idf.py imports: E_NO_IDF naming it and install.sh", async () => {
    const e = await expectError(
      findIdf({ env: env({ FAKE_IDF_MISSING_MODULE: "esp_idf_monitor", IDF_PATH: "/opt/esp-idf" }) }),
      "E_NO_IDF",
      /lacks the module 'esp_idf_monitor'/,
    );
    expect(e.hint).toBe(
      "run /opt/esp-idf/install.sh (it installs ESP-IDF's Python requirements), then . /opt/esp-idf/export.sh",
    );
  });

  /** An ESP-IDF tree as Espressif's getting-started guide installs it: ~/esp/esp-idf with export.sh. */
  function fakeIdfTree(home: string, exportScript: string): string {
    const idf = join(home, "esp", "esp-idf");
    mkdirSync(join(idf, "tools/cmake"), { recursive: true });
    writeFileSync(
      join(idf, "tools/cmake/version.cmake"),
      "set(IDF_VERSION_MAJOR 5)\nset(IDF_VERSION_MINOR 5)\nset(IDF_VERSION_PATCH 5)\n",
    );
    writeFileSync(join(idf, "tools/idf.py"), `#!/bin/sh\nexec node "${FIXTURES}/fake-idf.cjs" "$@"\n`, {
      mode: 0o755,
    });
    writeFileSync(join(idf, "export.sh"), exportScript);
    return idf;
  }

  it("finds ~/esp/esp-idf without IDF_PATH and runs idf.py in the environment its export.sh sets", async () => {
    const home = join(tmp, "home");
    const idf = fakeIdfTree(home, 'echo "Activating ESP-IDF 5.5" >&2\nexport FAKE_EXPORTED=yes\n');
    const runner = await findIdf({ env: env({ HOME: home }, false) });
    expect(runner).toMatchObject({ kind: "idf-path", idfPath: idf, version: { text: "v5.5.5" } });
    const r = await idfBuild({ ...base(), target: "esp32c6", env: env({ HOME: home }, false) });
    expect(r.manifest.idfVersion).toBe("v5.5.5");
    const recorded = calls();
    expect(recorded.length).toBeGreaterThan(0);
    for (const c of recorded as unknown as { env: { FAKE_EXPORTED: string; IDF_PATH: string } }[]) {
      expect(c.env).toEqual({ FAKE_EXPORTED: "yes", IDF_PATH: idf });
    }
  });

  it("an export.sh that fails (tools not installed): E_NO_IDF with its last line and install.sh", async () => {
    const home = join(tmp, "home");
    const idf = fakeIdfTree(
      home,
      'echo "ERROR: tool riscv32-esp-elf has no installed versions. Please run install.sh" >&2\nreturn 1\n',
    );
    const e = await expectError(findIdf({ env: env({ HOME: home }, false) }), "E_NO_IDF", /riscv32-esp-elf/);
    expect(e.hint).toContain(`${idf}/install.sh`);
  });

  it("IDF_PATH without tools/idf.py is an error", async () => {
    await expectError(
      findIdf({ env: env({ IDF_PATH: join(tmp, "nowhere") }, false) }),
      "E_NO_IDF",
      /IDF_PATH/,
    );
  });
});

describe("--docker (stand-in docker)", () => {
  const dockerEnv = (extra: Record<string, string> = {}) => ({
    PATH: `${join(FIXTURES, "docker-bin")}${delimiter}${SYSTEM_PATH}`,
    FAKE_IDF_RECORD: record,
    FAKE_DOCKER_RECORD: join(tmp, "docker.jsonl"),
    ...extra,
  });

  it("runs idf.py in espressif/idf with the project mounted at /project and container paths", async () => {
    const r = await idfBuild({ ...base(), target: "esp32c3", docker: true, env: dockerEnv() });
    const runs = readFileSync(join(tmp, "docker.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as string[]);
    expect(runs[0]).toEqual(["run", "--rm", "espressif/idf:v5.5", "idf.py", "--version"]);
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    expect(runs[1]!.slice(0, 14)).toEqual([
      "run",
      "--rm",
      "-v",
      `${project}:/project`,
      "-w",
      "/tmp",
      "-u",
      `${uid}:${gid}`,
      "-e",
      "HOME=/tmp",
      "-e",
      "IDF_GIT_SAFE_DIR=/project",
      "espressif/idf:v5.5",
      "idf.py",
    ]);
    expect(runs[1]).toContain(
      "-DSDKCONFIG_DEFAULTS=/project/sdkconfig/common.defaults;/project/sdkconfig/esp32c3.defaults;/project/build/esp32c3-hwmpi-cx/rsagen-toggles.defaults",
    );
    expect(runs[1]).toContain("-B");
    expect(runs[1]![runs[1]!.indexOf("-B") + 1]).toBe("/project/build/esp32c3-hwmpi-cx");
    expect(loadManifest(r.dir).manifest.target).toBe("esp32c3");
  });

  it("a custom image, and a build folder outside the project (the user's ./build) mounted at /rsagen-build", async () => {
    const outside = join(tmp, "elsewhere");
    const r = await idfBuild({
      ...base(),
      target: "esp32c3",
      docker: "espressif/idf:release-v5.4",
      buildRoot: outside,
      env: dockerEnv(),
    });
    expect(r.dir).toBe(join(outside, "esp32c3-hwmpi-cx"));
    const runs = readFileSync(join(tmp, "docker.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as string[]);
    expect(runs[1]!.slice(0, 6)).toEqual([
      "run",
      "--rm",
      "-v",
      `${project}:/project`,
      "-v",
      `${outside}:/rsagen-build`,
    ]);
    expect(runs[1]![runs[1]!.indexOf("-B") + 1]).toBe("/rsagen-build/esp32c3-hwmpi-cx");
    expect(loadManifest(r.dir).manifest.target).toBe("esp32c3");
    expect(existsSync(join(project, "build"))).toBe(false);
  });

  it("docker missing", async () => {
    await expectError(
      findIdf({ docker: true, env: { PATH: SYSTEM_PATH.replace(/\/usr\/bin:?/, "") } }),
      "E_NO_IDF",
      /docker/,
    );
  });
});

describe("bad input and failures", () => {
  it("a failing build: E_BUILD_FAILED with the compiler's error in the tail, no manifest", async () => {
    const e = await expectError(
      idfBuild({ ...base(), target: "esp32c3", env: env({ FAKE_IDF_FAIL: "build" }) }),
      "E_BUILD_FAILED",
      /idf\.py build for esp32c3 failed \(exit 2\)/,
    );
    const tail = (e as RsagenError & { logTail: string[] }).logTail;
    expect(tail).toContain("main.c:12:5: error: 'undefined_thing' undeclared");
    const dir = join(project, "build/esp32c3-hwmpi-cx");
    expect(existsSync(join(dir, "rsagen.json"))).toBe(false);
    expect(readFileSync(join(dir, "rsagen-build.log"), "utf8")).toContain("ninja: build stopped");
  });

  it("a failing build removes the manifest of the previous successful build", async () => {
    await idfBuild({ ...base(), target: "esp32c3", env: env() });
    const dir = join(project, "build/esp32c3-hwmpi-cx");
    expect(existsSync(join(dir, "rsagen.json"))).toBe(true);
    await expectError(
      idfBuild({ ...base(), target: "esp32c3", env: env({ FAKE_IDF_FAIL: "size" }) }),
      "E_BUILD_FAILED",
    );
    expect(existsSync(join(dir, "rsagen.json"))).toBe(false);
  });

  it("an app larger than its partition: E_IMAGE_TOO_LARGE, no manifest", async () => {
    await expectError(
      idfBuild({ ...base(), target: "esp32c3", env: env({ FAKE_IDF_APP_SIZE: String(0x180000) }) }),
      "E_IMAGE_TOO_LARGE",
      /partition 'factory' holds 1572864/,
    );
    expect(existsSync(join(project, "build/esp32c3-hwmpi-cx/rsagen.json"))).toBe(false);
  });

  it("overlapping partitions: E_BAD_PARTITIONS before idf.py runs or anything is written", async () => {
    writeFileSync(
      join(project, "partitions/rsagen.csv"),
      "nvs, data, nvs, 0x9000, 0x6000,\nphy_init, data, phy, 0xe000, 0x2000,\nfactory, app, factory, 0x10000, 0x180000,\n",
    );
    await expectError(idfBuild({ ...base(), target: "esp32c3", env: env() }), "E_BAD_PARTITIONS");
    expect(calls()).toEqual([]);
    expect(existsSync(join(project, "build"))).toBe(false);
  });

  it("a table that does not fit the flash of the target: E_BAD_PARTITIONS naming the flash size", async () => {
    writeFileSync(
      join(project, "partitions/rsagen.csv"),
      "nvs, data, nvs, 0x9000, 0x6000,\nphy_init, data, phy, 0xf000, 0x1000,\nfactory, app, factory, 0x10000, 0x500000,\n",
    );
    // 0x510000 > 4 MB (esp32c3) but < 8 MB (esp32s3).
    await expectError(
      idfBuild({ ...base(), target: "esp32c3", env: env() }),
      "E_BAD_PARTITIONS",
      /flash 4MB/,
    );
    expect(existsSync(join(project, "build"))).toBe(false);
    await idfBuild({ ...base(), target: "esp32s3", env: env() });
  });

  it("--inline-keygen with --no-crypto-extra is refused before anything runs", async () => {
    await expectError(
      idfBuild({
        ...base(),
        target: "esp32c3",
        toggles: { hwMpi: true, cryptoExtra: false, inlineKeygen: true },
        env: env(),
      }),
      "E_USAGE",
    );
    expect(calls()).toEqual([]);
  });
});
