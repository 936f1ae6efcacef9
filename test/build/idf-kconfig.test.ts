/**
 * Resolves rsagen's SDKCONFIG_DEFAULTS, composed exactly as `rsagen build` composes them
 * (composeDefaults), against a real ESP-IDF Kconfig tree with kconfiglib, for every target and
 * toggle set: every CONFIG_ line must come out as requested. Kconfig silently drops a default whose
 * `depends on` is unmet, a choice member another file overrides, or a symbol without a prompt;
 * the symbol-table test (idf-symbols.test.ts) cannot see any of that.
 *
 * Skipped unless RSAGEN_IDF_SRC points at an ESP-IDF tree (v5.1+; submodules not needed):
 *   git --git-dir=<esp-idf mirror> archive v5.5.5 Kconfig sdkconfig.rename components tools \
 *     | tar -x -C /tmp/idf-v5.5.5
 *   RSAGEN_IDF_SRC=/tmp/idf-v5.5.5 npx vitest run test/build/idf-kconfig.test.ts
 * Needs python3-kconfiglib (RSAGEN_KCONFIG_PYTHON names the interpreter if `python3` lacks it).
 * The resolver itself is tested on a miniature tree in kconfig-resolve.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeDefaults, effectiveFlashSize } from "../../src/build/sdkconfig.js";
import { buildFolderName, type Toggles } from "../../src/build/toggles.js";
import { TARGET_NAMES, TARGETS } from "../../src/targets.js";
import {
  describeFailures,
  kconfigPython,
  type ResolveResult,
  runKconfigResolve,
} from "./fixtures/kconfig-resolve.js";

const IDF = process.env.RSAGEN_IDF_SRC;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Every toggle set `rsagen build` accepts (checkToggles: inline keygen needs crypto-extra). */
const TOGGLE_SETS: Toggles[] = [];
for (const hwMpi of [true, false])
  for (const cryptoExtra of [true, false])
    for (const inlineKeygen of [false, true])
      if (!inlineKeygen || cryptoExtra) TOGGLE_SETS.push({ hwMpi, cryptoExtra, inlineKeygen });

/**
 * Defaults that a toggle set legitimately makes moot: stated for the chip, nested under a feature
 * the toggle turns off. Anything else that does not resolve as requested fails.
 */
function mootByToggle(r: ResolveResult, t: Toggles): boolean {
  return (
    r.name === "MBEDTLS_MPI_USE_INTERRUPT" &&
    !t.hwMpi &&
    r.resolved === "n" &&
    /^depends on unmet: .*MBEDTLS_HARDWARE_MPI/.test(r.reason ?? "")
  );
}

/** Derived values the firmware and the CLI rely on (console_esp.c, main_esp.c, src/build). */
const QUERY = [
  "ESP_CONSOLE_UART",
  "ESP_CONSOLE_UART_NUM",
  "ESP_CONSOLE_UART_BAUDRATE",
  "FREERTOS_UNICORE",
  "ESPTOOLPY_FLASHSIZE",
  "ESPTOOLPY_FLASHMODE",
  "PARTITION_TABLE_FILENAME",
  "MBEDTLS_LARGE_KEY_SOFTWARE_MPI",
  "TOIT_CRYPTO_EXTRA",
  "RSAGEN_INLINE_KEYGEN",
  "MBEDTLS_HARDWARE_MPI",
];

let tmp: string;
let python: string;

beforeAll(() => {
  if (!IDF) return;
  const py = kconfigPython();
  if (!py) throw new Error("no python3 with kconfiglib: apt-get install python3-kconfiglib");
  python = py;
  tmp = mkdtempSync(join(tmpdir(), "rsagen-idf-kconfig-"));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!IDF)("sdkconfig/ against ESP-IDF's Kconfig tree (RSAGEN_IDF_SRC)", () => {
  for (const target of TARGET_NAMES) {
    it(`${target}: every default resolves as requested in all ${TOGGLE_SETS.length} toggle sets`, () => {
      const composed = TOGGLE_SETS.map((t) => {
        const name = buildFolderName(target, t, "idf");
        const dir = join(tmp, name);
        const c = composeDefaults(ROOT, target, t, dir);
        // What `rsagen build` writes into the build folder before running idf.py.
        mkdirSync(dir, { recursive: true });
        writeFileSync(c.files[2]!, c.togglesText);
        return { t, c, name };
      });
      const report = runKconfigResolve({
        python,
        idf: IDF!,
        target,
        project: join(ROOT, "firmware"),
        cases: composed.map(({ name, c }) => ({ name, files: c.files })),
        query: QUERY,
      });
      const [major, minor] = report.idfVersion.split(".").map(Number);
      expect(major === 5 && minor! >= 1, `ESP-IDF ${report.idfVersion}`).toBe(true);
      expect(report.parseWarnings).toEqual([]);

      const info = TARGETS[target];
      for (const { t, c, name } of composed) {
        const kase = report.cases.find((x) => x.name === name)!;
        // Every CONFIG_ line rsagen passes was checked.
        expect(kase.results.map((r) => r.name).sort(), name).toEqual([...c.effective.keys()].sort());
        const failures = describeFailures(kase.results.filter((r) => !mootByToggle(r, t)));
        expect(failures, `${name} (ESP-IDF ${report.idfVersion})`).toEqual([]);

        const q = kase.queried;
        expect(q.ESP_CONSOLE_UART, name).toBe("y");
        expect(q.ESP_CONSOLE_UART_NUM, name).toBe("0");
        expect(q.ESP_CONSOLE_UART_BAUDRATE, name).toBe("115200");
        expect(q.FREERTOS_UNICORE, name).toBe(info.cores === 1 ? "y" : "n");
        expect(q.ESPTOOLPY_FLASHSIZE, name).toBe(effectiveFlashSize(c.effective).name);
        expect(q.ESPTOOLPY_FLASHMODE, name).toBe("dio");
        expect(q.PARTITION_TABLE_FILENAME, name).toBe("../partitions/rsagen.csv");
        expect(q.MBEDTLS_HARDWARE_MPI, name).toBe(t.hwMpi ? "y" : "n");
        expect(q.TOIT_CRYPTO_EXTRA, name).toBe(t.cryptoExtra ? "y" : "n");
        expect(q.RSAGEN_INLINE_KEYGEN, name).toBe(t.inlineKeygen ? "y" : "n");
        // 4096-bit keys on a 3072-bit accelerator need the software fallback (ESP-IDF's default there).
        if (t.hwMpi && info.rsaMaxBits < 4096) expect(q.MBEDTLS_LARGE_KEY_SOFTWARE_MPI, name).toBe("y");
      }
    });
  }
});
