/**
 * `rsagen flash` as a user runs it (compiled CLI), against the virtual board over RFC 2217:
 * --json events and result, exit codes for chip mismatch, missing manifest and no port.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeFlasherArgs, sha256, writeManifest } from "../../src/build/manifest.js";
import { startBoard } from "../../src/sim/board.js";
import type { TargetName } from "../../src/targets.js";
import { CLI, jsonLines } from "../helpers/run-cli.js";
import { buildFiles } from "./helpers/images.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function buildDir(target: TargetName): string {
  const dir = mkdtempSync(join(tmpdir(), "rsagen-flash-"));
  dirs.push(dir);
  const files = buildFiles(target, 20_000);
  const roles = files.map((f) => {
    writeFileSync(join(dir, f.name), f.data);
    return {
      role: f.role as "bootloader" | "partition-table" | "app",
      offset: f.offset,
      path: f.name,
      data: f.data,
    };
  });
  const flash = { mode: "dio", size: "4MB", freq: "40m" };
  writeFileSync(
    join(dir, "flasher_args.json"),
    JSON.stringify(makeFlasherArgs({ target, flash, files: roles })),
  );
  const app = roles.find((r) => r.role === "app")!;
  writeManifest(dir, {
    schema: 1,
    kind: "host",
    target,
    toggles: { hwMpi: true, cryptoExtra: true, inlineKeygen: false },
    projectName: "rsagen",
    version: "test",
    idfVersion: "host",
    builtAt: new Date().toISOString(),
    flash,
    files: roles.map((r) => ({
      role: r.role,
      offset: r.offset,
      path: r.path,
      size: r.data.length,
      sha256: sha256(r.data),
    })),
    app: {
      imageSize: app.data.length,
      partitionName: "factory",
      partitionOffset: 0x10000,
      partitionSize: 0x180000,
      freeBytes: 0x180000 - app.data.length,
      freePercent: 90,
    },
  });
  return dir;
}

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.ESPPORT;
    delete env.ESPBAUD;
    const p = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

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
    const b = await run(["flash", "--build-dir", buildDir("esp32")]);
    expect(b.status).toBe(10);
  });
});
