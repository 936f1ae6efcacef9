import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { idfSymbolFile } from "../../src/build/idf-symbols.js";
import { PROJECT_SYMBOLS } from "../../src/build/project-kconfig.js";
import {
  composeDefaults,
  effectiveBool,
  effectiveFlashSize,
  effectiveString,
  parseDefaults,
  TOGGLES_FILE_NAME,
} from "../../src/build/sdkconfig.js";
import { buildFolderName, checkToggles, type Toggles } from "../../src/build/toggles.js";
import { RsagenError } from "../../src/errors.js";
import { TARGET_NAMES, TARGETS } from "../../src/targets.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function allToggleSets(): Toggles[] {
  const sets: Toggles[] = [];
  for (const hwMpi of [true, false])
    for (const cryptoExtra of [true, false])
      for (const inlineKeygen of [false, true]) {
        if (inlineKeygen && !cryptoExtra) continue;
        sets.push({ hwMpi, cryptoExtra, inlineKeygen });
      }
  return sets;
}

describe("SDKCONFIG_DEFAULTS composition", () => {
  for (const target of TARGET_NAMES) {
    for (const t of allToggleSets()) {
      it(`${target} ${JSON.stringify(t)}`, () => {
        const buildDir = join(ROOT, "build", buildFolderName(target, t, "idf"));
        const c = composeDefaults(ROOT, target, t, buildDir);
        expect(c.files).toEqual([
          join(ROOT, "sdkconfig/common.defaults"),
          join(ROOT, `sdkconfig/${target}.defaults`),
          join(buildDir, TOGGLES_FILE_NAME),
        ]);
        // The toggles win over the project defaults.
        expect(effectiveBool(c.effective, "MBEDTLS_HARDWARE_MPI")).toBe(t.hwMpi);
        expect(effectiveBool(c.effective, "TOIT_CRYPTO_EXTRA")).toBe(t.cryptoExtra);
        expect(effectiveBool(c.effective, "RSAGEN_INLINE_KEYGEN")).toBe(t.inlineKeygen);
        expect(effectiveString(c.effective, "IDF_TARGET")).toBe(target);
        expect(effectiveFlashSize(c.effective).bytes).toBe(TARGETS[target].defaultFlashSize);
        expect(effectiveBool(c.effective, "ESP_TASK_WDT_EN")).toBe(true);
        expect(effectiveBool(c.effective, "ESP_TASK_WDT_INIT")).toBe(true);
        expect(effectiveBool(c.effective, "ESP_TASK_WDT_CHECK_IDLE_TASK_CPU0")).toBe(true);
        expect(effectiveBool(c.effective, "ESP_TASK_WDT_CHECK_IDLE_TASK_CPU1")).toBe(
          TARGETS[target].cores === 2 ? true : undefined,
        );
        expect(effectiveBool(c.effective, "PARTITION_TABLE_CUSTOM")).toBe(true);
        // Relative to the ESP-IDF project (firmware/), it must name the codecs' table.
        const csv = effectiveString(c.effective, "PARTITION_TABLE_CUSTOM_FILENAME")!;
        expect(resolve(ROOT, "firmware", csv)).toBe(join(ROOT, "partitions/rsagen.csv"));
        expect(c.togglesText).toContain(
          t.hwMpi ? "CONFIG_MBEDTLS_HARDWARE_MPI=y" : "# CONFIG_MBEDTLS_HARDWARE_MPI is not set",
        );
      });
    }
  }

  it("the project defaults enable crypto-extra and hardware MPI for every target", () => {
    for (const target of TARGET_NAMES) {
      const entries = parseDefaults(readFileSync(join(ROOT, `sdkconfig/${target}.defaults`), "utf8"), target);
      const get = (n: string) => entries.find((e) => e.name === n)?.value;
      expect(get("TOIT_CRYPTO_EXTRA")).toEqual({ kind: "bool", value: true });
      expect(get("MBEDTLS_HARDWARE_MPI")).toEqual({ kind: "bool", value: true });
    }
  });

  it("every symbol in sdkconfig/ exists in ESP-IDF for that target or is a project symbol", () => {
    const files = readdirSync(join(ROOT, "sdkconfig")).filter((f) => f.endsWith(".defaults"));
    expect(files.sort()).toEqual(["common.defaults", ...TARGET_NAMES.map((t) => `${t}.defaults`)].sort());
    const problems: string[] = [];
    for (const f of files) {
      const targets = f === "common.defaults" ? TARGET_NAMES : [f.replace(".defaults", "")];
      for (const e of parseDefaults(readFileSync(join(ROOT, "sdkconfig", f), "utf8"), f)) {
        for (const target of targets) {
          const known =
            idfSymbolFile(e.name, target as (typeof TARGET_NAMES)[number]) !== undefined ||
            (PROJECT_SYMBOLS as readonly string[]).includes(e.name);
          if (!known) problems.push(`${f}:${e.line} CONFIG_${e.name} (${target})`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("every toggle set gets its own folder", () => {
    const names = new Set<string>();
    for (const target of TARGET_NAMES)
      for (const t of allToggleSets()) {
        names.add(buildFolderName(target, t, "idf"));
        names.add(buildFolderName(target, t, "host"));
      }
    // host ignores hwMpi: 5 targets x (6 idf + 3 host)
    expect(names.size).toBe(5 * (6 + 3));
    expect(buildFolderName("esp32c3", { hwMpi: false, cryptoExtra: true, inlineKeygen: true }, "idf")).toBe(
      "esp32c3-swmpi-cx-inline",
    );
    expect(buildFolderName("esp32s3", { hwMpi: true, cryptoExtra: false, inlineKeygen: false }, "host")).toBe(
      "esp32s3-host-nocx",
    );
  });

  it("--task-wdt: its own folder, CONFIG_ESP_TASK_WDT_TIMEOUT_S in the toggle file, ESP-IDF's range only", () => {
    const t: Toggles = { hwMpi: false, cryptoExtra: true, inlineKeygen: true, taskWdtS: 1 };
    expect(buildFolderName("esp32c3", t, "idf")).toBe("esp32c3-swmpi-cx-inline-wdt1");
    const d = composeDefaults(ROOT, "esp32c3", t, join(ROOT, "build", buildFolderName("esp32c3", t, "idf")));
    expect(d.togglesText).toContain("CONFIG_ESP_TASK_WDT_TIMEOUT_S=1\n");
    // The toggle file comes last, so it wins over common.defaults' 5 s.
    expect(d.effective.get("ESP_TASK_WDT_TIMEOUT_S")?.value).toEqual({ kind: "raw", value: "1" });
    expect(composeDefaults(ROOT, "esp32", DEFAULT_T, "/tmp/x").togglesText).not.toContain("TASK_WDT");
    for (const bad of [0, 61, 1.5]) {
      expect(() => checkToggles({ ...DEFAULT_T, taskWdtS: bad })).toThrow(/whole seconds from 1 to 60/);
    }
    expect(() => checkToggles({ ...DEFAULT_T, taskWdtS: 60 })).not.toThrow();
  });

  it("rejects --inline-keygen with --no-crypto-extra", () => {
    expect(() => checkToggles({ hwMpi: true, cryptoExtra: false, inlineKeygen: true })).toThrow(
      /--inline-keygen/,
    );
  });
});

const DEFAULT_T: Toggles = { hwMpi: true, cryptoExtra: true, inlineKeygen: false };

describe("defaults parser", () => {
  it("reads y, n, numbers and strings", () => {
    const e = parseDefaults(
      'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=0x8000\nCONFIG_D="x\\"y"\n# comment\n',
      "f",
    );
    expect(e.map((x) => [x.name, x.value])).toEqual([
      ["A", { kind: "bool", value: true }],
      ["B", { kind: "bool", value: false }],
      ["C", { kind: "raw", value: "0x8000" }],
      ["D", { kind: "string", value: 'x"y' }],
    ]);
  });

  it("rejects lines it does not understand, naming file and line", () => {
    expect(() => parseDefaults("CONFIG_A=y\nMBEDTLS_HARDWARE_MPI=y\n", "x.defaults")).toThrow(
      /x\.defaults:2/,
    );
    expect(() => parseDefaults("CONFIG_A=hello\n", "x.defaults")).toThrow(RsagenError);
  });
});

describe("IDF_TARGET consistency", () => {
  const tmp = mkdtempSync(join(tmpdir(), "rsagen-sdk-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("refuses a target file whose CONFIG_IDF_TARGET names another chip", () => {
    cpSync(join(ROOT, "sdkconfig"), join(tmp, "sdkconfig"), { recursive: true });
    writeFileSync(join(tmp, "sdkconfig/esp32c3.defaults"), 'CONFIG_IDF_TARGET="esp32"\n');
    mkdirSync(join(tmp, "build"), { recursive: true });
    expect(() =>
      composeDefaults(
        tmp,
        "esp32c3",
        { hwMpi: true, cryptoExtra: true, inlineKeygen: false },
        join(tmp, "build/x"),
      ),
    ).toThrow(/does not match the requested target esp32c3/);
  });
});
