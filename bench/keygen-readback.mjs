// rsagen keygen end to end on the virtual board at a paced 115200 baud (DESIGN.md section 6).
// The real host firmware (firmware/host, mbedtls) is built with `rsagen build --host` logic,
// flashed into the virtual board's flash, and booted; the CLI's orchestration (dist/keygen) runs
// over the board's RFC 2217 server with both directions paced at baud/10 bytes per second.
// Measured per run:
//   - done -> verified files: from the board's DONE (the "generated" event) to the key files
//     written (readback of both parts with CRC per frame, SHA-256 vs STATUS, node:crypto verify,
//     atomic write with fsync), over the key bytes' line time (private + public DER at BAUD);
//   - CLI overhead around a generation: the whole runKeygen wall time minus the generation time
//     the board measured (connect/HELLO, KEYGEN, readback, verify, write, RELEASE).
// Needs `npm run build` first and cmake + libmbedtls-dev. Writes bench/results/keygen-readback.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/", import.meta.url);
const imp = (p) => import(new URL(p, dist).href);
const { hostBuild } = await imp("build/host-build.js");
const { loadManifest } = await imp("build/manifest.js");
const { startBoard } = await imp("sim/index.js");
const { TARGETS } = await imp("targets.js");
const { openTransport } = await imp("serial/open-transport.js");
const { ClientBoard } = await imp("keygen/client-board.js");
const { runKeygen } = await imp("keygen/job.js");

const BAUD = Number(process.env.BENCH_BAUD ?? 115200);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZES = (process.env.BENCH_BITS ?? "2048,4096").split(",").map(Number);
const TARGET = "esp32c3";
const root = fileURLToPath(new URL("..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "rsagen-bench-keygen-"));

try {
  const build = await hostBuild({
    projectRoot: root,
    buildRoot: join(work, "build"),
    target: TARGET,
    toggles: { hwMpi: true, cryptoExtra: true, inlineKeygen: false },
    version: "0.1.0",
  });
  const image = new Uint8Array(TARGETS[TARGET].defaultFlashSize).fill(0xff);
  for (const f of loadManifest(build.dir).files) image.set(f.data, f.offset);

  const board = await startBoard({ target: TARGET, flashImage: image, pacing: true });
  const perSize = [];
  try {
    for (const bits of SIZES) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) {
        const out = join(work, `keys-${bits}-${i}`);
        const t = await openTransport(board.url, { baud: BAUD });
        const b = new ClientBoard(t);
        let keyBytes = 0;
        const t0 = performance.now();
        try {
          const r = await runKeygen(
            b,
            {
              bits,
              exponent: 65537,
              timeoutMs: 600_000,
              save: { out, prefix: "k", format: "pem", private: "pkcs8", publicOnly: false, force: false },
            },
            (e) => {
              if (e.kind === "readback" && e.bytes === e.total) keyBytes += e.total;
            },
          );
          const totalMs = performance.now() - t0;
          const lineMs = (keyBytes * 10 * 1000) / BAUD;
          runs.push({
            keyBytes,
            lineMs,
            doneToFilesMs: r.timings.doneToFilesMs,
            ratio: r.timings.doneToFilesMs / lineMs,
            deviceMs: r.deviceElapsedMs,
            totalMs,
            overheadMs: totalMs - r.deviceElapsedMs,
            connectMs: r.timings.connectMs,
            readbackMs: r.timings.readbackMs,
            verifyMs: r.timings.verifyMs,
            writeMs: r.timings.writeMs,
          });
        } finally {
          await b.close();
          await t.close();
        }
      }
      const med = (k) => {
        const v = runs.map((r) => r[k]).sort((a, b) => a - b);
        return v[Math.floor(v.length / 2)];
      };
      perSize.push({
        bits,
        runs: runs.length,
        keyBytes: runs[0].keyBytes,
        lineTimeMs: +runs[0].lineMs.toFixed(1),
        medianDoneToFilesMs: +med("doneToFilesMs").toFixed(1),
        medianRatio: +med("ratio").toFixed(3),
        ratios: runs.map((r) => +r.ratio.toFixed(3)),
        medianOverheadMs: +med("overheadMs").toFixed(1),
        medianConnectMs: +med("connectMs").toFixed(1),
        medianReadbackMs: +med("readbackMs").toFixed(1),
        medianVerifyMs: +med("verifyMs").toFixed(1),
        medianWriteMs: +med("writeMs").toFixed(1),
        medianDeviceMs: +med("deviceMs").toFixed(1),
      });
      process.stderr.write(`keygen-readback: ${bits} bits ${JSON.stringify(perSize.at(-1))}\n`);
    }
  } finally {
    await board.close();
  }

  const result = {
    name: "keygen-readback",
    baud: BAUD,
    target: TARGET,
    sizes: perSize,
    metrics: perSize.flatMap((s) => [
      {
        name: `keygen ${s.bits}-bit: done -> verified files / key line time at ${BAUD} baud (median)`,
        value: s.medianRatio,
        unit: "x",
        target: "<= 1.2",
        pass: s.medianRatio <= 1.2,
      },
      {
        name: `keygen ${s.bits}-bit: CLI overhead around the generation (median)`,
        value: s.medianOverheadMs,
        unit: "ms",
      },
    ]),
    note: "virtual board running the real host firmware, RFC 2217 with pacing both ways; overhead = runKeygen wall time - board-measured generation time",
  };
  const outDir = fileURLToPath(new URL("results/", import.meta.url));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(`${outDir}keygen-readback.json`, `${JSON.stringify(result, null, 2)}\n`);
  for (const m of result.metrics) console.log(JSON.stringify(m));
} finally {
  rmSync(work, { recursive: true, force: true });
}
