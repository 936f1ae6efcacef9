/**
 * A build folder as `rsagen build` leaves it (flasher_args.json, rsagen.json and the three images)
 * from the small test images of ./images.ts, in a temp dir the caller removes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeFlasherArgs, sha256, writeManifest } from "../../../src/build/manifest.js";
import type { TargetName } from "../../../src/targets.js";
import { buildFiles } from "./images.js";

export function makeBuildDir(target: TargetName, appSize = 20_000): string {
  const dir = mkdtempSync(join(tmpdir(), "rsagen-flash-"));
  const files = buildFiles(target, appSize);
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
