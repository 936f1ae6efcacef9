/**
 * Any ESP-IDF build folder flashes, not only rsagen's: flasher_args.json is ESP-IDF's own contract
 * (what `idf.py flash` reads). A folder with flasher_args.json and no rsagen.json, holding an extra
 * file at its own offset as ESP-IDF projects with OTA data do, goes to the virtual board through the
 * compiled CLI with --build-dir, with --manifest <flasher_args.json>, and from ./build.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeFlasherArgs } from "../../src/build/manifest.js";
import { startBoard } from "../../src/sim/board.js";
import type { TargetName } from "../../src/targets.js";
import { jsonLines } from "../helpers/run-cli.js";
import { runCliAsync } from "./helpers/cli.js";
import { buildFiles } from "./helpers/images.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const OTADATA_OFFSET = 0xd000;

/** An ESP-IDF-style folder: images in subfolders as idf.py lays them out, flasher_args.json only. */
function plainIdfBuild(target: TargetName, chip: string = target): { dir: string; otadata: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), "rsagen-idf-build-"));
  dirs.push(dir);
  const files = buildFiles(target, 30_000).map((f) => {
    const path = f.role === "app" ? "app.bin" : `${f.role}/${f.role}.bin`;
    return { role: f.role as "bootloader" | "partition-table" | "app", offset: f.offset, path, data: f.data };
  });
  for (const f of files) {
    mkdirSync(join(dir, f.path, ".."), { recursive: true });
    writeFileSync(join(dir, f.path), f.data);
  }
  const fa = makeFlasherArgs({ target, flash: { mode: "dio", size: "4MB", freq: "80m" }, files });
  const otadata = new Uint8Array(0x2000).fill(0xff);
  otadata.set([1, 0, 0, 0], 0); // any recognisable bytes: this test checks only where they land
  writeFileSync(join(dir, "ota_data_initial.bin"), otadata);
  fa.flash_files[`0x${OTADATA_OFFSET.toString(16)}`] = "ota_data_initial.bin";
  fa.extra_esptool_args.chip = chip;
  writeFileSync(join(dir, "flasher_args.json"), JSON.stringify(fa, null, 4));
  return { dir, otadata };
}

describe("rsagen flash with a plain ESP-IDF build folder (flasher_args.json only)", () => {
  it("--build-dir and --manifest flash every listed file at its offset", async () => {
    const board = await startBoard({ target: "esp32c3" });
    try {
      const { dir, otadata } = plainIdfBuild("esp32c3");
      const a = await runCliAsync(["flash", "--json", "--port", board.url, "--build-dir", dir]);
      expect(a.status, a.stderr + a.stdout).toBe(0);
      const result = jsonLines(a.stdout).at(-1)!.result as { chip: string; regions: { offset: number }[] };
      expect(result.chip).toBe("esp32c3");
      expect(result.regions.map((r) => r.offset)).toContain(OTADATA_OFFSET);
      expect(result.regions).toHaveLength(4);
      const app = readFileSync(join(dir, "app.bin"));
      expect(Buffer.from(board.flash.read(0x10000, app.length)!).equals(app)).toBe(true);
      expect(
        Buffer.from(board.flash.read(OTADATA_OFFSET, otadata.length)!).equals(Buffer.from(otadata)),
      ).toBe(true);

      const m = await runCliAsync([
        "flash",
        "--json",
        "--port",
        board.url,
        "--manifest",
        join(dir, "flasher_args.json"),
      ]);
      expect(m.status, m.stderr + m.stdout).toBe(0);
    } finally {
      await board.close();
    }
  });

  it("is found as ./build when run in the project folder", async () => {
    const board = await startBoard({ target: "esp32" });
    try {
      const { dir } = plainIdfBuild("esp32");
      const project = mkdtempSync(join(tmpdir(), "rsagen-idf-project-"));
      dirs.push(project);
      renameSync(dir, join(project, "build"));
      const r = await runCliAsync(["flash", "--json", "--port", board.url], { cwd: project });
      expect(r.status, r.stderr + r.stdout).toBe(0);
      expect((jsonLines(r.stdout).at(-1)!.result as { chip: string }).chip).toBe("esp32");
    } finally {
      await board.close();
    }
  });

  it("refuses a build for a chip rsagen does not flash, and a folder with no build, before the port", async () => {
    const { dir } = plainIdfBuild("esp32c3", "esp32p4");
    const a = await runCliAsync(["flash", "--port", "rfc2217://127.0.0.1:1", "--build-dir", dir]);
    expect(a.status).toBe(23);
    expect(a.stderr).toMatch(/esp32p4/);
    const empty = mkdtempSync(join(tmpdir(), "rsagen-empty-"));
    dirs.push(empty);
    const b = await runCliAsync(["flash", "--port", "rfc2217://127.0.0.1:1", "--build-dir", empty]);
    expect(b.status).toBe(25);
    expect(b.stderr).toMatch(/flasher_args\.json/);
  });
});
