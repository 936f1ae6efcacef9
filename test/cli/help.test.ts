import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/main.js";
import { VERSION } from "../../src/cli/version.js";

describe("rsagen --help", () => {
  it("lists every command", () => {
    const help = buildProgram().helpInformation();
    for (const cmd of ["build", "flash", "keygen", "sim", "monitor", "info"]) {
      expect(help).toMatch(new RegExp(`^\\s+${cmd}\\b`, "m"));
    }
  });

  it("reports the package.json version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(VERSION).toBe(pkg.version);
  });
});
