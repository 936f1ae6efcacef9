/**
 * The Kconfig resolver (fixtures/kconfig_resolve.py) against a miniature ESP-IDF tree
 * (fixtures/mini-idf, fixtures/mini-idf-project): it must catch each way a default is silently
 * dropped, or idf-kconfig.test.ts (the real tree, RSAGEN_IDF_SRC only) would prove nothing.
 * Needs python3-kconfiglib (installed by .ci/run).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  describeFailures,
  kconfigPython,
  type ResolveReport,
  runKconfigResolve,
} from "./fixtures/kconfig-resolve.js";

const FIX = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const IDF = join(FIX, "mini-idf");
const PROJECT = join(FIX, "mini-idf-project");

let tmp: string;
let python: string;

function write(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

function resolve(target: string, cases: Record<string, string[]>, query: string[] = []): ResolveReport {
  return runKconfigResolve({
    python,
    idf: IDF,
    target,
    project: PROJECT,
    cases: Object.entries(cases).map(([name, files]) => ({ name, files })),
    query,
  });
}

function result(report: ResolveReport, caseName: string, sym: string) {
  const c = report.cases.find((x) => x.name === caseName);
  const r = c?.results.find((x) => x.name === sym);
  if (!r) throw new Error(`no result for ${sym} in case ${caseName}`);
  return r;
}

beforeAll(() => {
  const py = kconfigPython();
  if (!py) throw new Error("no python3 with kconfiglib: apt-get install python3-kconfiglib");
  python = py;
  tmp = mkdtempSync(join(tmpdir(), "rsagen-kconfig-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("kconfig_resolve.py on a miniature ESP-IDF tree", () => {
  it("resolves valid defaults from IDF components, projbuild files and project components", () => {
    const f = write(
      "good.defaults",
      [
        "CONFIG_WDT_CPU0=y",
        "CONFIG_WDT_CPU1=y",
        "CONFIG_WDT_TIMEOUT_S=9",
        "CONFIG_TABLE_OFFSET=0x9000",
        "CONFIG_CONSOLE_USB=y",
        'CONFIG_CONSOLE_NAME="usb \\"jtag\\""',
        "CONFIG_FLASHSIZE_4MB=y",
        "CONFIG_APP_FEATURE_DETAIL=y",
        "CONFIG_MAIN_OPTION=y",
        'CONFIG_IDF_TARGET="duo"',
        "",
      ].join("\n"),
    );
    const r = resolve("duo", { good: [f] }, ["UNICORE", "CONSOLE_UART", "FLASHSIZE_2MB", "NOT_A_SYMBOL"]);
    expect(r.idfVersion).toBe("5.9.1");
    expect(r.parseWarnings).toEqual([]);
    const results = r.cases[0]!.results;
    expect(describeFailures(results)).toEqual([]);
    expect(results.map((x) => x.name)).toHaveLength(10);
    expect(result(r, "good", "CONSOLE_NAME").resolved).toBe('usb "jtag"');
    expect(result(r, "good", "TABLE_OFFSET")).toMatchObject({ requested: "0x9000", resolved: "0x9000" });
    expect(r.cases[0]!.queried).toEqual({
      UNICORE: "n",
      CONSOLE_UART: "n",
      FLASHSIZE_2MB: "n",
      NOT_A_SYMBOL: null,
    });
  });

  it("reports a default dropped by an unmet `depends on` (CPU1 watch on a single-core target)", () => {
    const f = write("cpu1.defaults", "CONFIG_WDT_CPU1=y\n");
    const solo = resolve("solo", { c: [f] }, ["UNICORE"]);
    expect(solo.cases[0]!.queried.UNICORE).toBe("y");
    expect(result(solo, "c", "WDT_CPU1")).toMatchObject({ ok: false, requested: "y", resolved: "n" });
    expect(result(solo, "c", "WDT_CPU1").reason).toMatch(/^depends on unmet: WDT_INIT && !UNICORE$/);
    // A dependency switched off by an earlier line of the same file drops the dependant too.
    const g = write("init-off.defaults", "# CONFIG_WDT_INIT is not set\nCONFIG_WDT_CPU0=y\n");
    expect(result(resolve("duo", { c: [g] }), "c", "WDT_CPU0")).toMatchObject({ ok: false, resolved: "n" });
    expect(result(resolve("duo", { c: [f] }), "c", "WDT_CPU1").ok).toBe(true);
  });

  it("reports a choice member overridden by another member set later", () => {
    const a = write("choice-a.defaults", "CONFIG_CONSOLE_UART=y\n");
    const b = write("choice-b.defaults", "CONFIG_CONSOLE_USB=y\n");
    const r = resolve("duo", { ab: [a, b], ba: [b, a] });
    expect(result(r, "ab", "CONSOLE_UART")).toMatchObject({ ok: false, resolved: "n" });
    expect(result(r, "ab", "CONSOLE_UART").reason).toBe("choice CONSOLE resolved to CONSOLE_USB");
    expect(result(r, "ab", "CONSOLE_USB").ok).toBe(true);
    expect(result(r, "ba", "CONSOLE_UART").ok).toBe(true);
    expect(result(r, "ba", "CONSOLE_USB").ok).toBe(false);
  });

  it("reports unknown and renamed symbols, a symbol without a prompt, and an out-of-range int", () => {
    const f = write(
      "bad.defaults",
      [
        "CONFIG_TYPO_WDT=y",
        "CONFIG_OLD_WDT_CPU0=y",
        "CONFIG_IGNORED_NO_CMAKELISTS=y",
        "CONFIG_NO_PROMPT=8",
        "CONFIG_WDT_TIMEOUT_S=99",
        "",
      ].join("\n"),
    );
    const r = resolve("duo", { bad: [f] });
    expect(result(r, "bad", "TYPO_WDT")).toMatchObject({
      ok: false,
      resolved: null,
      reason: "unknown symbol",
    });
    expect(result(r, "bad", "OLD_WDT_CPU0").reason).toBe("renamed to WDT_CPU0 (sdkconfig.rename)");
    // A Kconfig in a folder without CMakeLists.txt is not a component: ESP-IDF never sources it.
    expect(result(r, "bad", "IGNORED_NO_CMAKELISTS").reason).toBe("unknown symbol");
    expect(result(r, "bad", "NO_PROMPT")).toMatchObject({ ok: false, resolved: "7" });
    expect(result(r, "bad", "NO_PROMPT").reason).toMatch(/^no prompt/);
    // Kconfig ignores an out-of-range value and falls back to the default.
    expect(result(r, "bad", "WDT_TIMEOUT_S")).toMatchObject({ ok: false, resolved: "5" });
    expect(result(r, "bad", "WDT_TIMEOUT_S").reason).toMatch(/range/);
  });

  it("merges like SDKCONFIG_DEFAULTS: later files win, <file>.<target> follows its file, cases do not leak", () => {
    const base = write(
      "base.defaults",
      "CONFIG_APP_FEATURE=y\nCONFIG_APP_FEATURE_DETAIL=y\nCONFIG_WDT_TIMEOUT_S=10\n",
    );
    write("base.defaults.solo", "CONFIG_WDT_TIMEOUT_S=11\n");
    const off = write("toggles-off.defaults", "# CONFIG_APP_FEATURE is not set\n");
    const on = write("toggles-on.defaults", "CONFIG_APP_FEATURE=y\n");
    const extra = write("extra.defaults", "CONFIG_MAIN_OPTION=y\n");
    const r = resolve("solo", { off: [base, off, extra], on: [base, on] }, [
      "APP_FEATURE",
      "WDT_TIMEOUT_S",
      "MAIN_OPTION",
    ]);
    // The toggle file's "is not set" wins, and the detail nested under it is then dropped.
    expect(result(r, "off", "APP_FEATURE")).toMatchObject({ ok: true, requested: "n", resolved: "n" });
    expect(result(r, "off", "APP_FEATURE_DETAIL").reason).toBe("depends on unmet: APP_FEATURE");
    // The second case starts from scratch: nothing of "off" survives.
    expect(describeFailures(r.cases[1]!.results)).toEqual([]);
    expect(r.cases[0]!.queried.MAIN_OPTION).toBe("y");
    expect(r.cases[1]!.queried).toEqual({ APP_FEATURE: "y", WDT_TIMEOUT_S: "11", MAIN_OPTION: "n" });
    // The per-target file is applied after its base file, and is where the request comes from.
    expect(result(r, "on", "WDT_TIMEOUT_S")).toMatchObject({ ok: true, requested: "11", resolved: "11" });
    expect(result(r, "on", "WDT_TIMEOUT_S").file).toBe(join(tmp, "base.defaults.solo"));
    const duo = resolve("duo", { on: [base, on] }, ["WDT_TIMEOUT_S"]);
    expect(duo.cases[0]!.queried.WDT_TIMEOUT_S).toBe("10");
  });
});
