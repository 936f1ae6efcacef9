import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { loadFrameVectors, VECTORS_DIR } from "./protocol-vectors.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const buildDir = mkdtempSync(join(tmpdir(), "rsagen-proto-c-"));
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

describe("C codec (firmware/components/rsagen_proto) against the shared vectors", () => {
  it("builds with cmake (ASan/UBSan) and passes every vector, the checksum checks and the fuzz run", () => {
    const src = join(root, "firmware/components/rsagen_proto/test");
    execFileSync("cmake", ["-S", src, "-B", buildDir, "-DCMAKE_BUILD_TYPE=Debug"], { stdio: "pipe" });
    execFileSync("cmake", ["--build", buildDir], { stdio: "pipe" });
    let out: string;
    let status = 0;
    try {
      out = execFileSync(join(buildDir, "rsagen_proto_test"), [join(VECTORS_DIR, "frames.txt")], {
        encoding: "utf8",
      });
    } catch (err) {
      const e = err as { stdout?: string; status?: number };
      out = e.stdout ?? "";
      status = e.status ?? -1;
    }
    const m = /^(\d+) passed, (\d+) failed$/m.exec(out);
    expect(m, out).not.toBeNull();
    const [, passed, failed] = m!;
    expect(Number(failed), out).toBe(0);
    expect(status).toBe(0);
    // 10 basic checks + 2 per frame vector + 3 modes per stream vector + file check + 2 fuzz checks.
    const { frames, streams } = loadFrameVectors();
    expect(Number(passed)).toBe(10 + 2 * frames.length + 3 * streams.length + 1 + 2);
  });
});
