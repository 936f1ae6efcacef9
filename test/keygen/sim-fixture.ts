/**
 * The real thing for end-to-end keygen tests: firmware/host built with CMake (crypto-extra on and
 * off) by `rsagen build --host`, its flash image laid out from the build's manifest, booted by the
 * virtual board (src/sim) behind its RFC 2217 server.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { hostBuild } from "../../src/build/host-build.js";
import { loadManifest } from "../../src/build/manifest.js";
import { type Board, type BoardFaults, startBoard } from "../../src/sim/index.js";
import { TARGETS, type TargetName } from "../../src/targets.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface Firmware {
  target: TargetName;
  image: Uint8Array;
}

export async function buildFirmware(
  dir: string,
  target: TargetName,
  cryptoExtra: boolean,
): Promise<Firmware> {
  const r = await hostBuild({
    projectRoot: ROOT,
    buildRoot: join(dir, "build"),
    target,
    toggles: { hwMpi: true, cryptoExtra, inlineKeygen: false },
    version: "0.1.0",
  });
  const image = new Uint8Array(TARGETS[target].defaultFlashSize).fill(0xff);
  for (const f of loadManifest(r.dir).files) image.set(f.data, f.offset);
  return { target, image };
}

export function erasedFlash(target: TargetName): Firmware {
  return { target, image: new Uint8Array(TARGETS[target].defaultFlashSize).fill(0xff) };
}

export async function bootBoard(fw: Firmware, faults?: BoardFaults, pacing = false): Promise<Board> {
  return startBoard({
    target: fw.target,
    flashImage: fw.image.slice(),
    pacing,
    ...(faults ? { faults } : {}),
  });
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
