import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { opensslCheck } from "../keys/fixtures.js";
import { FakeBoard } from "./fake-board.js";

const boards: FakeBoard[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const b of boards.splice(0)) await b.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function cli(args: string[]): Promise<{ lines: Record<string, unknown>[]; exitCode: number }> {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  await main(["node", "rsagen", ...args]);
  vi.restoreAllMocks();
  const lines = chunks
    .join("")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, exitCode: Number(process.exitCode ?? 0) };
}

describe("rsagen keygen (CLI, --json) against fake boards", () => {
  it("runs two boards in parallel with per-board progress and results", async () => {
    const a = await FakeBoard.start({ keygenDelayMs: 300 });
    const b = await FakeBoard.start({ keygenDelayMs: 300 });
    boards.push(a, b);
    const dir = mkdtempSync(join(tmpdir(), "rsagen-cli-"));
    dirs.push(dir);
    const { lines, exitCode } = await cli([
      "--json",
      "keygen",
      "--bits",
      "1024",
      "--port",
      a.url,
      "--port",
      b.url,
      "--out",
      dir,
      "--prefix",
      "k",
    ]);
    expect(exitCode).toBe(0);
    const results = lines.filter((l) => l.event === "board-result");
    expect(results.map((r) => r.port).sort()).toEqual([a.url, b.url].sort());
    expect(results.every((r) => r.ok === true)).toBe(true);
    expect(new Set(lines.filter((l) => l.event === "progress").map((l) => l.port))).toEqual(
      new Set([a.url, b.url]),
    );
    expect(lines.at(-1)).toEqual({ result: { boards: 2, ok: 2, failed: 0 } });
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(4);
    for (const f of files.filter((f) => f.endsWith(".key.pem")))
      expect(opensslCheck(join(dir, f))).toMatch(/Key is valid/);
  });

  it("one board's failure gives its own result line and a non-zero exit, the other still succeeds", async () => {
    const good = await FakeBoard.start();
    const off = await FakeBoard.start({ cryptoExtra: false });
    boards.push(good, off);
    const dir = mkdtempSync(join(tmpdir(), "rsagen-cli-"));
    dirs.push(dir);
    const { lines, exitCode } = await cli([
      "--json",
      "keygen",
      "--bits",
      "1024",
      "-p",
      good.url,
      "-p",
      off.url,
      "-o",
      dir,
    ]);
    expect(exitCode).toBe(31);
    const bad = lines.find((l) => l.event === "board-result" && l.port === off.url) as {
      ok: boolean;
      error: { code: string };
    };
    expect(bad.ok).toBe(false);
    expect(bad.error.code).toBe("E_DEVICE_UNSUPPORTED");
    expect(readdirSync(dir)).toHaveLength(2);
  });

  it("a single board: one result object with files and fingerprint", async () => {
    const a = await FakeBoard.start();
    boards.push(a);
    const dir = mkdtempSync(join(tmpdir(), "rsagen-cli-"));
    dirs.push(dir);
    const { lines, exitCode } = await cli([
      "--json",
      "keygen",
      "--bits",
      "1024",
      "--port",
      a.url,
      "--out",
      dir,
      "--format",
      "der",
      "--private",
      "pkcs1",
    ]);
    expect(exitCode).toBe(0);
    const res = lines.at(-1)!.result as { fingerprint: string; files: { privatePath: string } };
    expect(res.fingerprint).toMatch(/^SHA256:/);
    expect(opensslCheck(res.files.privatePath, { der: true })).toMatch(/Key is valid/);
  });

  it("a wrong port is a clear E_NO_PORT/E_PORT error, nothing written", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rsagen-cli-"));
    dirs.push(dir);
    const { lines, exitCode } = await cli([
      "--json",
      "keygen",
      "--port",
      "/dev/does-not-exist-rsagen",
      "--out",
      dir,
    ]);
    expect(exitCode).toBeGreaterThanOrEqual(10);
    expect(exitCode).toBeLessThan(20);
    expect((lines.at(-1) as { error: { code: string } }).error.code).toMatch(/^E_(NO_PORT|PORT_)/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("keygen CLI details", () => {
  it("takes the global --port before the command (as quickstart.sh writes it)", async () => {
    const a = await FakeBoard.start();
    boards.push(a);
    const dir = mkdtempSync(join(tmpdir(), "rsagen-cli-"));
    dirs.push(dir);
    const { lines, exitCode } = await cli([
      "--json",
      "--port",
      a.url,
      "keygen",
      "--bits",
      "1024",
      "-o",
      dir,
      "--public-only",
    ]);
    expect(exitCode).toBe(0);
    const res = lines.at(-1)!.result as { files: { privatePath?: string; publicPath: string } };
    expect(res.files.privatePath).toBeUndefined();
    expect(readdirSync(dir)).toHaveLength(1);
    // --public-only still frees (zeroizes) the key on the board.
    expect(a.releases).toHaveLength(1);
  });

  it("repeatedPorts collects every -p/--port form", async () => {
    const { repeatedPorts } = await import("../../src/cli/actions/keygen.js");
    expect(
      repeatedPorts([
        "node",
        "rsagen",
        "-p",
        "a",
        "keygen",
        "--port",
        "b",
        "--port=c",
        "-pd",
        "--",
        "--port",
        "x",
      ]),
    ).toEqual(["a", "b", "c", "d"]);
  });

  it("formats durations from milliseconds to minutes", async () => {
    const { formatDuration } = await import("../../src/cli/actions/keygen.js");
    expect([formatDuration(45.4), formatDuration(1234), formatDuration(185_000)]).toEqual([
      "45 ms",
      "1.2 s",
      "3 min 05 s",
    ]);
  });
});

describe("port discovery for keygen", () => {
  it("--all with no board on USB is E_NO_PORT listing what was found", async () => {
    const { detectBoardPorts } = await import("../../src/keygen/ports.js");
    const sys = mkdtempSync(join(tmpdir(), "rsagen-sys-"));
    dirs.push(sys);
    await expect(detectBoardPorts({ sysRoot: sys, devRoot: sys })).rejects.toMatchObject({
      code: "E_NO_PORT",
      message: expect.stringMatching(/no ESP32 board \(serial ports: none\)/),
    });
  });

  it("labels ports for file names", async () => {
    const { portLabel } = await import("../../src/keygen/ports.js");
    expect(portLabel("/dev/ttyUSB0")).toBe("ttyUSB0");
    expect(portLabel("rfc2217://127.0.0.1:4000")).toBe("127.0.0.1-4000");
    expect(portLabel("COM3")).toBe("COM3");
  });
});

describe("rsagen.config.json keygen defaults", () => {
  it("bits, format and out come from the config file when not given on the command line", async () => {
    const { writeFileSync } = await import("node:fs");
    const a = await FakeBoard.start({ hangJob: true });
    boards.push(a);
    const dir = mkdtempSync(join(tmpdir(), "rsagen-cli-"));
    dirs.push(dir);
    const cfg = join(dir, "rsagen.config.json");
    writeFileSync(cfg, JSON.stringify({ keygen: { bits: 1024, format: "der", out: dir, timeout: "300ms" } }));
    const { lines, exitCode } = await cli(["--json", "--config", cfg, "--port", a.url, "keygen"]);
    // The job hangs on this board: the config's 300 ms timeout must cancel it (not 300 s).
    expect(exitCode).toBe(33);
    const started = lines.find((l) => l.event === "started") as { bits: number };
    expect(started.bits).toBe(1024);
  });

  it("the command line beats the config file", async () => {
    const { writeFileSync } = await import("node:fs");
    const a = await FakeBoard.start();
    boards.push(a);
    const dir = mkdtempSync(join(tmpdir(), "rsagen-cli-"));
    dirs.push(dir);
    const cfg = join(dir, "rsagen.config.json");
    writeFileSync(cfg, JSON.stringify({ keygen: { bits: 4096, format: "der" } }));
    const { lines, exitCode } = await cli([
      "--json",
      "--config",
      cfg,
      "-p",
      a.url,
      "keygen",
      "--bits",
      "1024",
      "--format",
      "pem",
      "-o",
      dir,
    ]);
    expect(exitCode).toBe(0);
    const res = lines.at(-1)!.result as { bits: number; files: { publicPath: string } };
    expect(res.bits).toBe(1024);
    expect(res.files.publicPath).toMatch(/\.pub\.pem$/);
  });
});
