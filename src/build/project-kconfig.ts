/**
 * Symbols the project defines in its own Kconfig files (firmware/components/<c>/Kconfig,
 * firmware/main/Kconfig.projbuild, ...): the firmware engineer owns them; rsagen only needs to know
 * which names exist so that every line of sdkconfig/ can be checked.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The project symbols rsagen build sets (the toggle file always writes them). */
export const PROJECT_SYMBOLS = [
  "TOIT_CRYPTO_EXTRA",
  "RSAGEN_INLINE_KEYGEN",
  "RSAGEN_KEY_SLOTS",
  "RSAGEN_SLOT_CSR",
] as const;

/** Maps each `config`/`menuconfig` name found under firmwareDir to the file defining it. */
export function projectKconfigSymbols(firmwareDir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      // Build output and the host build tree never hold Kconfig sources.
      if (e.isDirectory() && e.name !== "build" && !e.name.startsWith(".")) walk(p);
      else if (e.isFile() && /^Kconfig(\.projbuild)?$/.test(e.name)) {
        for (const m of readFileSync(p, "utf8").matchAll(/^\s*(?:menu)?config\s+([A-Za-z0-9_]+)\s*$/gm)) {
          found.set(m[1]!, p);
        }
      }
    }
  };
  walk(firmwareDir);
  return found;
}
