/**
 * The real thing for end-to-end keygen tests: firmware/host built with CMake (crypto-extra on and
 * off) by `rsagen build --host`, its flash image laid out from the build's manifest, booted by the
 * virtual board (src/sim) behind its RFC 2217 server.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { hostBuild } from "../../src/build/host-build.js";
import { loadManifest } from "../../src/build/manifest.js";
import { DeviceClient } from "../../src/device/client.js";
import { duplexFromTransport } from "../../src/device/duplex.js";
import { buildHostBootloader, wrapHostExecutable } from "../../src/image/host-payload.js";
import { encodePartitionTable, parsePartitionCsv } from "../../src/partitions/index.js";
import { openTransport } from "../../src/serial/open-transport.js";
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
  inlineKeygen = false,
): Promise<Firmware> {
  const r = await hostBuild({
    projectRoot: ROOT,
    buildRoot: join(dir, "build"),
    target,
    toggles: { hwMpi: true, cryptoExtra, inlineKeygen },
    version: "0.1.0",
  });
  const image = new Uint8Array(TARGETS[target].defaultFlashSize).fill(0xff);
  for (const f of loadManifest(r.dir).files) image.set(f.data, f.offset);
  return { target, image };
}

/** Another project's app: logs like ESP-IDF and echoes, but speaks no rsagen protocol. */
const FOREIGN_APP_C = `
#include <stdio.h>
int main(void) {
  printf("I (310) cpu_start: Starting scheduler.\\r\\nI (320) blink: LED on\\r\\n");
  fflush(stdout);
  int c;
  while ((c = getchar()) != EOF) { if (c == '\\n') { printf("I (900) blink: LED toggled\\r\\n"); fflush(stdout); } }
  return 0;
}
`;

export function foreignFirmware(dir: string, target: TargetName): Firmware {
  writeFileSync(join(dir, "foreign.c"), FOREIGN_APP_C);
  execFileSync("gcc", ["-O1", "-o", join(dir, "foreign"), join(dir, "foreign.c")]);
  const exe = readFileSync(join(dir, "foreign"));
  const t = TARGETS[target];
  const image = new Uint8Array(t.defaultFlashSize).fill(0xff);
  const flash = { mode: "dio", size: "4MB", freq: "80m" };
  const builtAt = new Date("2025-01-01T00:00:00Z");
  image.set(buildHostBootloader({ target, version: "1.0.0", flash, builtAt }), t.bootloaderOffset);
  image.set(
    encodePartitionTable(parsePartitionCsv(readFileSync(join(ROOT, "partitions/rsagen.csv"), "utf8"))),
    0x8000,
  );
  image.set(wrapHostExecutable(exe, { target, version: "1.0.0", flash, builtAt }), 0x10000);
  return { target, image };
}

export function erasedFlash(target: TargetName): Firmware {
  return { target, image: new Uint8Array(TARGETS[target].defaultFlashSize).fill(0xff) };
}

export async function bootBoard(
  fw: Firmware,
  faults?: BoardFaults,
  wdtMs?: number,
  extra: { pty?: boolean } = {},
): Promise<Board> {
  return startBoard({
    target: fw.target,
    flashImage: fw.image.slice(),
    ...(faults ? { faults } : {}),
    ...(wdtMs !== undefined ? { wdtMs } : {}),
    ...extra,
  });
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A second, independent client asks the board for its job state (HELLO). */
export async function boardJobState(board: Board): Promise<string> {
  const t = await openTransport(board.url);
  const c = new DeviceClient(duplexFromTransport(t));
  try {
    return (await c.hello()).jobState;
  } finally {
    c.close();
    await t.close();
  }
}
