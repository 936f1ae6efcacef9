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

  it("build --help names the Docker image the build really defaults to", async () => {
    const { DEFAULT_DOCKER_IMAGE } = await import("../../src/build/idf-env.js");
    const build = buildProgram().commands.find((c) => c.name() === "build")!;
    const help = build.helpInformation().replace(/\s+/g, " "); // commander wraps long lines
    expect(help).toContain(`(default image: ${DEFAULT_DOCKER_IMAGE})`);
    expect(help).not.toMatch(/default\) \(default: true\)/);
  });

  it("reports the package.json version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(VERSION).toBe(pkg.version);
  });
});
