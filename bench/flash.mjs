// Flash throughput against the virtual board with line pacing (both directions at baud/10 bytes/s,
// 8N1), through `rsagen flash`'s stub path (esptool-js starts the stub, our loader writes with one
// block in flight). Effective throughput = region bytes (uncompressed) / write time (from
// FLASH_DEFL_BEGIN to the last block's reply; connect, stub upload and the MD5 check excluded), as
// a fraction of the line rate (DESIGN.md section 6: >= 0.95 incompressible, >= 1.8 typical).
// Images: 1 MiB of random bytes (incompressible) and a real rsagen app image built here with
// `rsagen build --host --target esp32c3` (the firmware's host executable in an ESP image); its
// zlib level-9 ratio is recorded. Reference: esptool-js 0.7.0's own writeFlash at 921600, the path
// we replaced (docs/flash.md). Needs `npm run build`. Writes bench/results/flash.json.
// Env: FLASH_BENCH_BAUDS=921600,115200 (default both), FLASH_BENCH_REFERENCE=0 skips esptool-js.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));
const mod = (p) => import(new URL(`../dist/${p}`, import.meta.url).href);
const { planFlash } = await mod("flash/plan.js");
const { flashBoard } = await mod("flash/session.js");
const { stubPath } = await mod("flash/stub-path.js");
const { transportPort } = await mod("flash/transport-port.js");
const { openTransport, createTransport } = await mod("serial/open-transport.js");
const { createEsptoolTransport } = await mod("serial/esptool-transport.js");
const { startBoard } = await mod("sim/board.js");
const { ESPLoader } = await import("esptool-js");

const MiB = 1024 * 1024;
const TARGET = "esp32c3";

function hostImage() {
  // In the temp dir: CMake leaves *.ts dependency files that tsc would pick up inside the repo.
  const out = mkdtempSync(join(tmpdir(), "rsagen-bench-flash-"));
  const r = spawnSync(
    process.execPath,
    [`${root}bin/rsagen`, "build", "--host", "--target", TARGET, "--build-dir", out],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(`rsagen build --host failed:\n${r.stderr}`);
  const dir = readdirSync(out).find((d) => d.startsWith(`${TARGET}-host`));
  const image = new Uint8Array(readFileSync(join(out, dir, "rsagen.bin")));
  rmSync(out, { recursive: true, force: true });
  return image;
}

const typical = hostImage();
const images = { incompressible: new Uint8Array(randomBytes(MiB)), typical };
const info = Object.fromEntries(
  Object.entries(images).map(([k, d]) => {
    const z = deflateSync(d, { level: 9 }).length;
    return [k, { bytes: d.length, zlibBytes: z, compressionRatio: +(d.length / z).toFixed(3) }];
  }),
);
info.typical.source = `rsagen build --host --target ${TARGET}: rsagen.bin (app image with the host firmware)`;
process.stderr.write(
  `typical image: ${typical.length} bytes, zlib-9 ratio ${info.typical.compressionRatio}\n`,
);

const bauds = (process.env.FLASH_BENCH_BAUDS ?? "115200,921600").split(",").map(Number);
const targets = { incompressible: 0.95, typical: 1.8 };
const metrics = [];
const runs = [];

async function rsagenWrite(baud, data) {
  const board = await startBoard({ target: TARGET, pacing: true });
  const t = await openTransport(board.url, { baud: 115200 });
  try {
    const plan = planFlash({
      target: TARGET,
      flash: { size: "4MB", mode: "dio", freq: "40m" },
      files: [{ name: "image", offset: 0x100000, data }],
    });
    const r = await flashBoard(transportPort(t), plan, {
      before: "default-reset",
      after: "no-reset",
      stub: true,
      skip: false,
      eraseAll: false,
      force: false,
      baud: baud === 115200 ? undefined : baud,
      stubPath,
    });
    const reg = r.regions[0];
    const md5 = createHash("md5").update(board.flash.read(0x100000, reg.size)).digest("hex");
    if (md5 !== reg.md5) throw new Error("flash content differs after the write");
    return { seconds: reg.seconds, wireBytes: reg.wireBytes };
  } finally {
    await t.close();
    await board.close();
  }
}

async function esptoolJsWrite(baud, data) {
  const board = await startBoard({ target: TARGET, pacing: true });
  const transport = createEsptoolTransport(createTransport(board.url));
  const loader = new ESPLoader({
    transport,
    baudrate: baud,
    romBaudrate: 115200,
    terminal: { clean() {}, writeLine() {}, write() {} },
  });
  try {
    await loader.main("default_reset");
    const t0 = performance.now();
    await loader.writeFlash({
      fileArray: [{ data, address: 0x100000 }],
      flashSize: "keep",
      flashMode: "keep",
      flashFreq: "keep",
      eraseAll: false,
      compress: true,
      reportProgress: () => undefined,
    });
    return { seconds: (performance.now() - t0) / 1000 };
  } finally {
    await transport.disconnect().catch(() => undefined);
    await board.close();
  }
}

function record(label, kind, baud, r) {
  const fraction = images[kind].length / r.seconds / (baud / 10);
  const target = targets[kind];
  metrics.push({
    name: `${label}: ${kind} (${images[kind].length} bytes) @ ${baud}`,
    value: +fraction.toFixed(3),
    unit: "x line rate",
    ...(label === "rsagen" ? { target: `>= ${target}`, pass: fraction >= target } : {}),
  });
  runs.push({
    path: label,
    kind,
    baud,
    seconds: +r.seconds.toFixed(3),
    fraction: +fraction.toFixed(3),
    ...r,
  });
  process.stderr.write(
    `${label} ${kind} @ ${baud}: ${r.seconds.toFixed(2)} s, ${fraction.toFixed(3)} x line rate\n`,
  );
}

for (const baud of bauds) {
  for (const kind of Object.keys(images)) record("rsagen", kind, baud, await rsagenWrite(baud, images[kind]));
}
if (process.env.FLASH_BENCH_REFERENCE !== "0") {
  for (const kind of Object.keys(images)) {
    record(
      "esptool-js 0.7.0 writeFlash (reference)",
      kind,
      921600,
      await esptoolJsWrite(921600, images[kind]),
    );
  }
}

mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/flash.json", import.meta.url),
  `${JSON.stringify({ name: "flash", target: TARGET, images: info, metrics, runs }, null, 2)}\n`,
);
