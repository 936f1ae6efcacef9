/**
 * Re-checks src/build/idf-symbols.ts against real ESP-IDF sources. ESP-IDF is not installed in CI,
 * so this runs only when RSAGEN_IDF_SRC points at an ESP-IDF v5.5.x tree (or a subset holding the
 * cited Kconfig files); docs/build.md says how. The table was checked this way against v5.5.5.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { IDF_SYMBOLS, idfSymbolFile } from "../../src/build/idf-symbols.js";
import { TARGET_NAMES } from "../../src/targets.js";

const IDF = process.env.RSAGEN_IDF_SRC;

describe.skipIf(!IDF)("idf-symbols.ts against ESP-IDF sources (RSAGEN_IDF_SRC)", () => {
  for (const [name, sym] of Object.entries(IDF_SYMBOLS)) {
    it(name, () => {
      for (const target of sym.targets ?? TARGET_NAMES) {
        const file = join(IDF!, idfSymbolFile(name, target)!);
        expect(existsSync(file), file).toBe(true);
        expect(readFileSync(file, "utf8")).toMatch(new RegExp(`^\\s*(?:menu)?config ${name}\\s*$`, "m"));
      }
    });
  }
});
