import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveSettings } from "../../src/cli/config.js";
import { EXIT_CODES, RsagenError } from "../../src/errors.js";
import { runCli } from "../helpers/run-cli.js";

function projectWith(config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "rsagen-config-"));
  writeFileSync(
    join(dir, "rsagen.config.json"),
    typeof config === "string" ? config : JSON.stringify(config),
  );
  return dir;
}

describe("settings precedence: CLI > env > config file", () => {
  const dir = projectWith({ port: "/dev/ttyFILE", baud: 230400 });

  it("uses the config file when nothing else is given", () => {
    const s = resolveSettings({}, {}, dir);
    expect([s.port, s.portSource, s.baud, s.baudSource]).toEqual([
      "/dev/ttyFILE",
      "config",
      230400,
      "config",
    ]);
  });

  it("environment beats the config file", () => {
    const s = resolveSettings({}, { ESPPORT: "/dev/ttyENV", ESPBAUD: "460800" }, dir);
    expect([s.port, s.portSource, s.baud, s.baudSource]).toEqual(["/dev/ttyENV", "env", 460800, "env"]);
  });

  it("the command line beats both", () => {
    const s = resolveSettings(
      { port: "rfc2217://127.0.0.1:4000", baud: "921600" },
      { ESPPORT: "/dev/ttyENV" },
      dir,
    );
    expect([s.port, s.portSource, s.baud, s.baudSource]).toEqual([
      "rfc2217://127.0.0.1:4000",
      "cli",
      921600,
      "cli",
    ]);
  });

  it("without any source, nothing is set", () => {
    const empty = mkdtempSync(join(tmpdir(), "rsagen-noconfig-"));
    const s = resolveSettings({}, {}, empty);
    expect([s.port, s.portSource, s.baud, s.baudSource]).toEqual([undefined, "none", undefined, "none"]);
  });
});

describe("config file validation", () => {
  function configError(config: unknown): RsagenError {
    try {
      resolveSettings({}, {}, projectWith(config));
    } catch (err) {
      if (err instanceof RsagenError) return err;
      throw err;
    }
    throw new Error("expected an error");
  }

  it("rejects unknown keys (typos must not pass silently)", () => {
    const e = configError({ prot: "/dev/ttyUSB0" });
    expect(e.code).toBe("E_CONFIG");
    expect(e.message).toMatch(/prot/);
  });

  it("rejects bad values with the key path", () => {
    const e = configError({ keygen: { bits: 100 } });
    expect(e.code).toBe("E_CONFIG");
    expect(e.message).toMatch(/keygen\.bits/);
  });

  it("rejects invalid JSON", () => {
    const e = configError("{ port: ");
    expect(e.code).toBe("E_CONFIG");
    expect(e.message).toMatch(/not valid JSON/);
  });

  it("an explicit --config that does not exist is an error", () => {
    expect(() => resolveSettings({ config: "nope.json" }, {}, tmpdir())).toThrow(/config file not found/);
  });

  it("the CLI exits with E_CONFIG on a bad config file", () => {
    const r = runCli(["info"], { cwd: projectWith({ baud: "x" }) });
    expect(r.status).toBe(EXIT_CODES.E_CONFIG);
    expect(r.stderr).toMatch(/^error: .*rsagen.config.json: baud: /);
    expect(r.stderr).toMatch(/hint: see README.md/);
  });
});

describe("exit codes", () => {
  it("are distinct", () => {
    const values = Object.values(EXIT_CODES);
    expect(new Set(values).size).toBe(values.length);
    expect(values).not.toContain(0);
  });
});

describe("README", () => {
  it("documents every exit code with its number", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    for (const [code, exit] of Object.entries(EXIT_CODES)) {
      expect(readme, code).toMatch(new RegExp(`^\\| ${code} \\| ${exit} \\|`, "m"));
    }
  });
});
