import { describe, expect, it } from "vitest";
import { EXIT_CODES } from "../../src/errors.js";
import { jsonLines, runCli } from "../helpers/run-cli.js";

// These run the real compiled CLI in a child process: exit statuses and stderr are what a user sees.
describe("option validation", () => {
  const cases: Array<{ args: string[]; message: RegExp; hint: RegExp }> = [
    {
      args: ["build", "--target", "esp8266"],
      message: /--target: unknown target 'esp8266'/,
      hint: /esp32c3/,
    },
    {
      args: ["keygen", "--bits", "1000"],
      message: /--bits: bits must be between 1024 and 4096/,
      hint: /--bits 2048/,
    },
    { args: ["keygen", "--bits", "2049"], message: /multiple of 8/, hint: /multiple of 8/ },
    { args: ["keygen", "--bits", "two"], message: /--bits must be an integer, got 'two'/, hint: /2048/ },
    { args: ["keygen", "--exponent", "4"], message: /exponent must be odd/, hint: /65537/ },
    { args: ["keygen", "--timeout", "soon"], message: /timeout must look like/, hint: /90s/ },
    { args: ["keygen", "--format", "pfx"], message: /--format/, hint: /pem or der/ },
    { args: ["--baud", "12", "info"], message: /baud must be between 1200 and 5000000/, hint: /115200/ },
    { args: ["--baud", "fast", "info"], message: /--baud must be an integer/, hint: /115200/ },
    { args: ["--port", "rfc2217://nohost", "info"], message: /rfc2217:\/\/host:port/, hint: /rfc2217/ },
    { args: ["flash", "--before", "sometimes"], message: /--before/, hint: /no-reset/ },
    { args: ["sim", "--listen", "4000"], message: /HOST:PORT/, hint: /--listen 127.0.0.1:4000/ },
  ];

  for (const c of cases) {
    it(`rejects ${c.args.join(" ")} with E_USAGE`, () => {
      const r = runCli(c.args);
      expect(r.status).toBe(EXIT_CODES.E_USAGE);
      const lines = r.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toMatch(c.message);
      expect(lines[1]).toMatch(/^ {2}hint: /);
      expect(lines[1]).toMatch(c.hint);
      expect(r.stdout).toBe("");
    });
  }

  it("rejects an unknown option with E_USAGE and a hint", () => {
    const r = runCli(["keygen", "--bitz", "2048"]);
    expect(r.status).toBe(EXIT_CODES.E_USAGE);
    expect(r.stderr).toMatch(/^error: unknown option '--bitz'/);
    expect(r.stderr).toMatch(/hint: run with --help/);
  });

  it("rejects an unknown command", () => {
    const r = runCli(["frobnicate"]);
    expect(r.status).toBe(EXIT_CODES.E_USAGE);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it("reads ESPBAUD and validates it like --baud", () => {
    const r = runCli(["info"], { env: { ESPBAUD: "9" } });
    expect(r.status).toBe(EXIT_CODES.E_USAGE);
    expect(r.stderr).toMatch(/^error: ESPBAUD: baud must be between/);
    expect(r.stderr).toMatch(/hint: set ESPBAUD/);
  });
});

describe("--json errors", () => {
  it("prints exactly one JSON object with code, message, hint and exit code", () => {
    const r = runCli(["--json", "keygen", "--bits", "512"]);
    expect(r.status).toBe(EXIT_CODES.E_USAGE);
    expect(r.stderr).toBe("");
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual({
      error: {
        code: "E_USAGE",
        message: "--bits: bits must be between 1024 and 4096",
        hint: "use a multiple of 8 from 1024 to 4096, e.g. --bits 2048",
        exitCode: EXIT_CODES.E_USAGE,
      },
    });
  });

  it("reports commander's own usage errors as JSON too", () => {
    const r = runCli(["--json", "keygen", "--nope"]);
    expect(r.status).toBe(EXIT_CODES.E_USAGE);
    const [line] = jsonLines(r.stdout);
    expect((line as { error: { code: string; message: string } }).error.code).toBe("E_USAGE");
    expect((line as { error: { message: string } }).error.message).toMatch(/unknown option '--nope'/);
  });
});

describe("help", () => {
  it("--help exits 0 and names every command", () => {
    const r = runCli(["--help"]);
    expect(r.status).toBe(0);
    for (const cmd of ["build", "flash", "keygen", "sim", "monitor", "info"]) expect(r.stdout).toContain(cmd);
  });

  it("every command has its own --help", () => {
    for (const cmd of ["build", "flash", "keygen", "sim", "monitor", "info"]) {
      const r = runCli([cmd, "--help"]);
      expect(r.status, cmd).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: rsagen ${cmd}`));
    }
  });
});
