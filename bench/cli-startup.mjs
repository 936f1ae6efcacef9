// CLI cold start: `rsagen --help` in a fresh Node process, N runs, median and p90.
// Target (DESIGN.md section 6): median <= 150 ms. Writes bench/results/cli-startup.json.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const runs = Number(process.env.BENCH_RUNS ?? 30);
const cli = fileURLToPath(new URL("../bin/rsagen", import.meta.url));
const times = [];
for (let i = 0; i < runs + 2; i++) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, "--help"], { encoding: "utf8" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`rsagen --help exited ${r.status}: ${r.stderr}`);
  if (i >= 2) times.push(ms); // the first two warm the OS file cache, as a user's second run would be
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
const median = q(0.5);
// Baseline in the same run: a bare `node -e 0`, so the figure can be read as overhead over Node itself.
const base = [];
for (let i = 0; i < 10; i++) {
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ["-e", "0"]);
  base.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
base.sort((a, b) => a - b);
const result = {
  name: "cli-startup",
  metrics: [
    {
      name: "rsagen --help median",
      value: +median.toFixed(1),
      unit: "ms",
      target: "<= 150",
      pass: median <= 150,
    },
    { name: "rsagen --help p90", value: +q(0.9).toFixed(1), unit: "ms" },
    { name: "node -e 0 median (baseline)", value: +base[5].toFixed(1), unit: "ms" },
    { name: "overhead over bare node", value: +(median / base[5]).toFixed(2), unit: "x" },
  ],
  runs,
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/cli-startup.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result));
