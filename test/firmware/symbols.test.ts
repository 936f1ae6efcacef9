/**
 * Every global symbol the firmware defines carries the rsagen_ prefix, as ESP-IDF components do:
 * ESP-IDF links its own globals into every app (esp_vfs_console defines console_write and
 * console_read), so an unprefixed firmware global can collide at link time on a real build.
 * Checked on the host build's objects, which compile the same portable sources (the ESP-only files
 * are checked by the real ESP-IDF build where one is installed: test/qemu).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildFirmware } from "./fw-build.js";

function definedGlobals(archive: string): string[] {
  const out = execFileSync("nm", ["-g", "--defined-only", archive], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length === 3 && /^[A-Za-z]$/.test(f[1] ?? ""))
    .map((f) => f[2] as string);
}

describe("firmware global symbols", () => {
  const dir = buildFirmware("normal");
  const archives = [join(dir, "librsagen_fw_core.a"), join(dir, "rsagen_proto", "librsagen_proto.a")];

  it("defines globals at all (the check reads real objects)", () => {
    expect(definedGlobals(archives[0] as string).length).toBeGreaterThan(20);
  });

  it.each(archives)("%s: every defined global starts with rsagen_", (archive) => {
    const unprefixed = definedGlobals(archive).filter((s) => !s.startsWith("rsagen_"));
    expect(unprefixed).toEqual([]);
  });
});
