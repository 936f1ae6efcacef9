// Flash throughput against the virtual board with line pacing (bytes/s = baud/10), through the
// stub path (esptool-js) as `rsagen flash` uses it. Effective throughput = region bytes / write
// time (MD5 and connect excluded), as a fraction of the line rate.
// Images: 1 MiB of random bytes (incompressible) and a "typical" image: 1 MiB of machine code
// (the start of the node executable; compresses like firmware). Writes bench/results/flash.json.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";

const mod = (p) => import(`../dist/${p}`);
const { planFlash } = await mod("flash/plan.js");
const { flashBoard } = await mod("flash/session.js");
const { stubPath } = await mod("flash/stub-path.js");
const { transportPort } = await mod("flash/transport-port.js");
const { openTransport } = await mod("serial/transport.js");
const { startBoard } = await mod("sim/board.js");

const MiB = 1024 * 1024;
const images = {
  incompressible: randomBytes(MiB),
  typical: readFileSync(process.execPath).subarray(0, MiB),
};
const bauds = (process.env.FLASH_BENCH_BAUDS ?? "921600,115200").split(",").map(Number);
const metrics = [];
for (const baud of bauds) {
  for (const [kind, data] of Object.entries(images)) {
    const board = await startBoard({ target: "esp32c3", pacing: true });
    const t = await openTransport(board.url, { baud: 115200 });
    try {
      const plan = planFlash({
        target: "esp32c3",
        flash: { size: "4MB", mode: "dio", freq: "40m" },
        files: [{ name: kind, offset: 0x100000, data: new Uint8Array(data) }],
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
      const fraction = reg.size / reg.seconds / (baud / 10);
      const target = kind === "incompressible" ? 0.95 : 1.8;
      metrics.push({
        name: `${kind} 1 MiB @ ${baud}`,
        value: +fraction.toFixed(3),
        unit: "x line rate",
        target: `>= ${target}`,
        pass: fraction >= target,
      });
      process.stderr.write(
        `${kind} @ ${baud}: ${reg.seconds.toFixed(2)} s, ${fraction.toFixed(3)} x line rate (wire ${reg.wireBytes} bytes)\n`,
      );
    } finally {
      await t.close();
      await board.close();
    }
  }
}
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL("./results/flash.json", import.meta.url),
  `${JSON.stringify({ name: "flash", metrics }, null, 2)}\n`,
);
