import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc8, encodeFrame, FrameDecoder } from "../../src/device/frame.js";
import { xorshift32 } from "../helpers/xorshift.js";
import { loadFrameVectors, VECTORS_DIR } from "./protocol-vectors.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const buildDir = mkdtempSync(join(tmpdir(), "rsagen-proto-c-"));
const runner = join(buildDir, "rsagen_proto_test");
afterAll(() => rmSync(buildDir, { recursive: true, force: true }));
beforeAll(() => {
  const src = join(root, "firmware/components/rsagen_proto/test");
  execFileSync("cmake", ["-S", src, "-B", buildDir, "-DCMAKE_BUILD_TYPE=Debug"], { stdio: "pipe" });
  execFileSync("cmake", ["--build", buildDir], { stdio: "pipe" });
}, 120_000);

describe("C codec (firmware/components/rsagen_proto) against the shared vectors", () => {
  it("builds with cmake (ASan/UBSan) and passes every vector, layout, checksum check and the fuzz run", () => {
    let out: string;
    let status = 0;
    try {
      out = execFileSync(runner, [join(VECTORS_DIR, "frames.txt"), join(VECTORS_DIR, "layouts.txt")], {
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
    // 10 basic checks + 2 per frame vector + 3 modes per stream vector + file check + one per
    // layout line (rsagen_proto.h's offsets on the message vectors) + layout file check + 2 fuzz.
    const { frames, streams } = loadFrameVectors();
    const layouts = readFileSync(join(VECTORS_DIR, "layouts.txt"), "utf8").match(/^layout /gm)?.length ?? 0;
    expect(layouts).toBeGreaterThan(40);
    expect(Number(passed)).toBe(10 + 2 * frames.length + 3 * streams.length + 1 + layouts + 1 + 2);
  });
});

describe("C and TypeScript decoders agree byte for byte on random streams", () => {
  const rnd = xorshift32(0x1234567);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => rnd() & 0xff);

  /** Frames, corrupted and truncated frames, false headers with a valid check byte, noise. */
  function randomStream(): Uint8Array {
    const parts: Uint8Array[] = [];
    for (let k = 0; k < 60; k++) {
      const r = rnd() % 6;
      if (r === 0)
        parts.push(
          encodeFrame(rnd() & 0xff, rnd() & 0xffff, bytes(rnd() % 400), { version: 1 + (rnd() % 2) }),
        );
      else if (r === 1) {
        const f = encodeFrame(0x86, 1 + (rnd() % 9), bytes(rnd() % 1025)).slice();
        f[rnd() % f.length]! ^= 1 << (rnd() % 8);
        parts.push(rnd() % 2 ? f : f.subarray(0, rnd() % f.length));
      } else if (r === 2) {
        const h = Uint8Array.from([0xc1, 0xf5, 1, 0x82, rnd() & 0xff, 0, rnd() & 0xff, rnd() % 5, 0]);
        h[8] = crc8(h.subarray(2, 8));
        parts.push(h);
      } else {
        parts.push(
          bytes(rnd() % 300).map((b) => (b % 6 === 0 ? 0xc1 : b % 6 === 1 ? 0xf5 : b % 6 === 2 ? 0x01 : b)),
        );
      }
    }
    return Buffer.concat(parts);
  }

  function tsDecode(stream: Uint8Array, chunk: number): string {
    const d = new FrameDecoder();
    const items = [];
    for (let i = 0; i < stream.length; i += chunk) items.push(...d.push(stream.subarray(i, i + chunk)));
    items.push(...d.flush());
    const lines: string[] = [];
    let text: number[] | undefined;
    const hex = (b: Uint8Array | number[]) => (b.length ? Buffer.from(b).toString("hex") : "-");
    for (const it of items) {
      if (it.kind === "text") {
        text ??= [];
        text.push(...it.bytes);
        continue;
      }
      if (text) lines.push(`text ${hex(text)}`);
      text = undefined;
      lines.push(
        `frame ${it.version} ${it.type.toString(16).padStart(2, "0")} ${it.requestId} ${hex(it.payload)}`,
      );
    }
    if (text) lines.push(`text ${hex(text)}`);
    const st = d.stats;
    lines.push(`stats ${st.frames} ${st.headerErrors} ${st.crcErrors} ${st.textBytes}`);
    return lines.join("\n");
  }

  it("same frames, text runs and error counts for 20 streams in chunks of 1, 13 and 4096 bytes", () => {
    let frames = 0;
    let errors = 0;
    for (let round = 0; round < 20; round++) {
      const stream = randomStream();
      const file = join(buildDir, `stream-${round}.bin`);
      writeFileSync(file, stream);
      for (const chunk of [1, 13, 4096]) {
        const c = execFileSync(runner, ["--decode", file, String(chunk)], {
          encoding: "utf8",
          maxBuffer: 64 << 20,
        }).trimEnd();
        const ts = tsDecode(stream, chunk);
        expect(c).toBe(ts);
        const st = ts.slice(ts.lastIndexOf("stats ")).split(" ").map(Number);
        frames += st[1]!;
        errors += st[2]! + st[3]!;
      }
    }
    // The streams exercise both paths: real frames found, and header and CRC rejections.
    expect(frames).toBeGreaterThan(100);
    expect(errors).toBeGreaterThan(100);
  });
});
