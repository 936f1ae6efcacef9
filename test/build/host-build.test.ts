/**
 * `rsagen build --host` packaging, end to end with real CMake and a real C compiler. The host
 * project here is a tiny stand-in firmware/host (in a temp copy of the project) that builds an
 * `rsagen-fw` printing its CMake toggles, so the toggles' path from the CLI to the executable is
 * checked; host-build-firmware.test.ts does the same with the real firmware/host.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostBuild } from "../../src/build/host-build.js";
import { loadManifest } from "../../src/build/manifest.js";
import { RsagenError } from "../../src/errors.js";
import { extractHostExecutable } from "../../src/image/host-payload.js";
import { validateImage } from "../../src/image/index.js";
import { decodePartitionTable } from "../../src/partitions/index.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
let tmp: string;
let project: string;

const HOST_CMAKE = `cmake_minimum_required(VERSION 3.16)
project(rsagen_fw_standin C)
option(RSAGEN_CRYPTO_EXTRA "keygen feature" ON)
option(RSAGEN_INLINE_KEYGEN "negative control" OFF)
add_executable(rsagen-fw main.c)
if(RSAGEN_CRYPTO_EXTRA)
  target_compile_definitions(rsagen-fw PRIVATE CX=1)
endif()
if(RSAGEN_INLINE_KEYGEN)
  target_compile_definitions(rsagen-fw PRIVATE INL=1)
endif()
`;
const HOST_MAIN = `#include <stdio.h>
int main(void) {
#ifdef CX
  puts("crypto-extra");
#endif
#ifdef INL
  puts("inline");
#endif
  puts("stand-in rsagen-fw");
  return 0;
}
`;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "rsagen-host-"));
  project = join(tmp, "project");
  mkdirSync(join(project, "firmware/host"), { recursive: true });
  cpSync(join(ROOT, "sdkconfig"), join(project, "sdkconfig"), { recursive: true });
  cpSync(join(ROOT, "partitions"), join(project, "partitions"), { recursive: true });
  writeFileSync(join(project, "firmware/host/CMakeLists.txt"), HOST_CMAKE);
  writeFileSync(join(project, "firmware/host/main.c"), HOST_MAIN);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const toggles = { hwMpi: true, cryptoExtra: true, inlineKeygen: false };

function runExtracted(dir: string): string {
  const m = loadManifest(dir);
  const app = m.files.find((f) => f.role === "app")!;
  const exe = extractHostExecutable(app.data, { target: m.manifest.target });
  const out = join(tmp, `exe-${Math.random().toString(16).slice(2)}`);
  writeFileSync(out, exe, { mode: 0o755 });
  return execFileSync(out, { encoding: "utf8" });
}

describe("build --host with CMake", () => {
  it("builds, packages for esp32c3 and leaves the same manifest shape as an ESP-IDF build", async () => {
    const stages: string[] = [];
    const r = await hostBuild({
      projectRoot: project,
      target: "esp32c3",
      toggles,
      version: "0.1.0",
      events: { stage: (s) => stages.push(s) },
    });
    expect(r.dir).toBe(join(project, "build/esp32c3-host-cx"));
    expect(stages).toEqual(["host-configure", "host-build", "package"]);
    const m = loadManifest(r.dir);
    expect(m.manifest.kind).toBe("host");
    expect(m.manifest.files.map((f) => [f.role, f.offset, f.path])).toEqual([
      ["bootloader", 0x0, "bootloader/bootloader.bin"],
      ["partition-table", 0x8000, "partition_table/partition-table.bin"],
      ["app", 0x10000, "rsagen.bin"],
    ]);
    // flasher_args.json in ESP-IDF's shape.
    expect(m.flasherArgs.write_flash_args).toEqual([
      "--flash_mode",
      "dio",
      "--flash_size",
      "4MB",
      "--flash_freq",
      "80m",
    ]);
    expect(m.flasherArgs.app).toEqual({ offset: "0x10000", file: "rsagen.bin", encrypted: "false" });
    expect(m.flasherArgs.extra_esptool_args.chip).toBe("esp32c3");
    // Each file is what it claims to be.
    const [bl, pt, app] = m.files;
    expect(validateImage(bl!.data, { target: "esp32c3", kind: "bootloader" }).bootloaderDesc?.idfVer).toBe(
      "host",
    );
    const table = decodePartitionTable(pt!.data);
    expect(table.entries.map((e) => [e.name, e.offset, e.size])).toEqual([
      ["nvs", 0x9000, 0x6000],
      ["phy_init", 0xf000, 0x1000],
      ["factory", 0x10000, 0x180000],
      ["rsagen_keys", 0x190000, 0x10000],
    ]);
    const img = validateImage(app!.data, {
      target: "esp32c3",
      kind: "app",
      requireSha256: true,
      maxLength: 0x180000,
    });
    expect(img.appDesc).toMatchObject({ projectName: "rsagen", version: "0.1.0", idfVer: "host" });
    const exe = readFileSync(join(r.dir, "cmake/rsagen-fw"));
    expect(Buffer.compare(Buffer.from(extractHostExecutable(app!.data)), exe)).toBe(0);
    expect(m.manifest.hostExecutable?.size).toBe(exe.length);
    expect(m.manifest.app.imageSize).toBe(app!.data.length);
    expect(runExtracted(r.dir)).toBe("crypto-extra\nstand-in rsagen-fw\n");
  });

  it("the toggles reach the host CMake project, each set in its own folder", async () => {
    const off = await hostBuild({
      projectRoot: project,
      target: "esp32",
      toggles: { ...toggles, cryptoExtra: false },
      version: "0.1.0",
    });
    const inl = await hostBuild({
      projectRoot: project,
      target: "esp32",
      toggles: { ...toggles, inlineKeygen: true },
      version: "0.1.0",
    });
    expect(off.dir).toMatch(/esp32-host-nocx$/);
    expect(inl.dir).toMatch(/esp32-host-cx-inline$/);
    expect(runExtracted(off.dir)).toBe("stand-in rsagen-fw\n");
    expect(runExtracted(inl.dir)).toBe("crypto-extra\ninline\nstand-in rsagen-fw\n");
    const m = loadManifest(off.dir);
    expect(m.files[0]!.offset).toBe(0x1000); // esp32 bootloader offset
    expect(m.flasherArgs.flash_settings).toEqual({ flash_mode: "dio", flash_size: "4MB", flash_freq: "40m" });
  });

  it("loadManifest notices a file changed after the build", async () => {
    const r = await hostBuild({ projectRoot: project, target: "esp32c6", toggles, version: "0.1.0" });
    const f = join(r.dir, "rsagen.bin");
    const b = readFileSync(f);
    b[b.length - 1]! ^= 0xff;
    writeFileSync(f, b);
    expect(() => loadManifest(r.dir)).toThrow(/changed after the build/);
  });

  it("an executable too large for the app partition: E_IMAGE_TOO_LARGE, no outputs written", async () => {
    const big = join(tmp, "big.bin");
    writeFileSync(big, Buffer.alloc(0x180000, 0x5a));
    const err = await hostBuild({
      projectRoot: project,
      target: "esp32s3",
      toggles,
      version: "0.1.0",
      executable: big,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(RsagenError);
    expect((err as RsagenError).code).toBe("E_IMAGE_TOO_LARGE");
    const dir = join(project, "build/esp32s3-host-cx");
    expect(existsSync(join(dir, "rsagen.bin"))).toBe(false);
    expect(existsSync(join(dir, "rsagen.json"))).toBe(false);
  });

  it("a compile error: E_BUILD_FAILED with the compiler output in the tail", async () => {
    const broken = join(tmp, "broken");
    cpSync(project, broken, { recursive: true, filter: (s) => !s.includes("/build") });
    writeFileSync(join(broken, "firmware/host/main.c"), "int main(void) { return undefined_thing; }\n");
    const err = await hostBuild({ projectRoot: broken, target: "esp32c3", toggles, version: "0.1.0" }).catch(
      (e) => e,
    );
    expect((err as RsagenError).code).toBe("E_BUILD_FAILED");
    expect((err as { logTail: string[] }).logTail.join("\n")).toMatch(/undefined_thing/);
    expect(existsSync(join(broken, "build/esp32c3-host-cx/rsagen.json"))).toBe(false);
  });
});
