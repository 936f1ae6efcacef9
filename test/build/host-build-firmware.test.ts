/**
 * End to end with the real host firmware (firmware/host, contract C2): `build --host` for esp32c3
 * runs CMake on firmware/host, packages rsagen-fw, and the result parses and validates with the
 * image codec; extractHostExecutable gives back the identical bytes, and they run as the firmware.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { hostBuild } from "../../src/build/host-build.js";
import { loadManifest } from "../../src/build/manifest.js";
import { PROJECT_SYMBOLS, projectKconfigSymbols } from "../../src/build/project-kconfig.js";
import { extractHostExecutable } from "../../src/image/host-payload.js";
import { parseImage, validateImage } from "../../src/image/index.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const tmp = mkdtempSync(join(tmpdir(), "rsagen-hostfw-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("build --host with the real firmware/host", () => {
  it("esp32c3: image validates, executable round-trips byte for byte and runs", async () => {
    const r = await hostBuild({
      projectRoot: ROOT,
      buildRoot: join(tmp, "build"),
      target: "esp32c3",
      toggles: { hwMpi: true, cryptoExtra: true, inlineKeygen: false },
      version: "0.1.0",
    });
    const m = loadManifest(r.dir);
    const app = m.files.find((f) => f.role === "app")!;
    const parsed = parseImage(app.data);
    expect(parsed.target).toBe("esp32c3");
    const img = validateImage(app.data, {
      target: "esp32c3",
      kind: "app",
      requireSha256: true,
      maxLength: m.manifest.app.partitionSize,
    });
    expect(img.appDesc).toMatchObject({ projectName: "rsagen", version: "0.1.0", idfVer: "host" });
    const built = readFileSync(join(r.dir, "cmake/rsagen-fw"));
    const exe = extractHostExecutable(app.data);
    expect(Buffer.compare(Buffer.from(exe), built)).toBe(0);
    // The bytes from the image are the firmware: it boots and logs on stdout until stdin closes.
    const path = join(tmp, "rsagen-fw-extracted");
    writeFileSync(path, exe, { mode: 0o755 });
    const run = spawnSync(path, ["--target", "esp32c3"], { input: "", timeout: 20_000 });
    expect(run.status).toBe(0);
    expect(run.stdout.toString("latin1")).toMatch(/^[IWE] \(\d+\) \w+: /m);
  }, 180_000);

  it("the project Kconfig defines the symbols rsagen's sdkconfig and toggles set", () => {
    const syms = projectKconfigSymbols(join(ROOT, "firmware"));
    for (const s of PROJECT_SYMBOLS) expect(syms.has(s), s).toBe(true);
  });
});
