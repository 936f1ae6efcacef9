/**
 * `rsagen flash` as a user runs it (compiled CLI), against the virtual board over RFC 2217:
 * --json events and result, exit codes for chip mismatch, missing manifest and no port.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startBoard } from "../../src/sim/board.js";
import type { TargetName } from "../../src/targets.js";
import { jsonLines } from "../helpers/run-cli.js";
import { makeBuildDir } from "./helpers/build-dir.js";
import { runCliAsync } from "./helpers/cli.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function buildDir(target: TargetName): string {
  const dir = makeBuildDir(target);
  dirs.push(dir);
  return dir;
}

const run = runCliAsync;

describe("rsagen flash (CLI)", () => {
  it("flashes with --json progress and result, then refuses another chip with exit 14", async () => {
    const board = await startBoard({ target: "esp32c3" });
    try {
      const dir = buildDir("esp32c3");
      const r = await run(["flash", "--json", "--port", board.url, "--build-dir", dir, "--baud", "460800"]);
      expect(r.status, r.stderr + r.stdout).toBe(0);
      const lines = jsonLines(r.stdout);
      expect(lines.some((l) => l.event === "progress")).toBe(true);
      const result = lines.at(-1)!.result as { chip: string; regions: { skipped: boolean }[] };
      expect(result.chip).toBe("esp32c3");
      expect(result.regions).toHaveLength(3);
      const other = buildDir("esp32s3");
      const m = await run(["flash", "--json", "--port", board.url, "--build-dir", other]);
      expect(m.status).toBe(14);
      expect(jsonLines(m.stdout).at(-1)).toMatchObject({ error: { code: "E_CHIP_MISMATCH" } });
    } finally {
      await board.close();
    }
  });

  it("a missing build is exit 25, no port is exit 10", async () => {
    const empty = mkdtempSync(join(tmpdir(), "rsagen-flash-"));
    dirs.push(empty);
    const a = await run(["flash", "--port", "rfc2217://127.0.0.1:1", "--build-dir", empty]);
    expect(a.status).toBe(25);
    expect(a.stderr).toMatch(/rsagen\.json/);
    // No --port/ESPPORT: discovery by USB VID/PID finds no board here (exit 10, hint --port).
    const b = await run(["flash", "--build-dir", buildDir("esp32")]);
    expect(b.status).toBe(10);
    expect(b.stderr).toMatch(/--port/);
  });
});
