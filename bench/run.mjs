// Runs every benchmark in bench/ in one run (one machine, one sitting, so ratios compare), then merges
// bench/results/*.json into bench/results.json and a Markdown table bench/results.md.
//
// Convention for a benchmark: bench/<name>.mjs (files starting with "_" are helpers) writes
// bench/results/<name>.json shaped { name, metrics: [{ name, value, unit, target?, pass? }], ... }.
// Usage: npm run bench [-- name ...]   (names filter which benchmarks run)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const resultsDir = `${benchDir}results/`;
const only = process.argv.slice(2);
const scripts = readdirSync(benchDir)
  .filter((f) => f.endsWith(".mjs") && f !== "run.mjs" && !f.startsWith("_"))
  .map((f) => f.replace(/\.mjs$/, ""))
  .filter((n) => only.length === 0 || only.includes(n))
  .sort();

mkdirSync(resultsDir, { recursive: true });
const runs = [];
for (const name of scripts) {
  const out = `${resultsDir}${name}.json`;
  rmSync(out, { force: true });
  process.stderr.write(`bench: ${name} ...\n`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [`${benchDir}${name}.mjs`], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  const seconds = (Date.now() - t0) / 1000;
  const ok = r.status === 0 && existsSync(out);
  runs.push({ name, ok, seconds, exit: r.status });
  if (!ok) process.stderr.write(`bench: ${name} FAILED (exit ${r.status})\n`);
}

const results = readdirSync(resultsDir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(`${resultsDir}${f}`, "utf8")))
  .filter((r) => only.length === 0 || only.includes(r.name));
const machine = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${os.type()} ${os.release()} ${os.arch()}`,
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? "unknown",
  memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
  loadAverage: os.loadavg().map((l) => +l.toFixed(2)),
};
writeFileSync(`${benchDir}results.json`, `${JSON.stringify({ machine, runs, results }, null, 2)}\n`);

const lines = [
  "# rsagen benchmark results",
  "",
  `Machine: ${machine.cpuModel}, ${machine.cpus} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}.`,
  `Run: ${machine.date}. All figures from this one run.`,
  "",
  "| benchmark | metric | value | target | met |",
  "| --- | --- | --- | --- | --- |",
];
for (const r of results) {
  for (const m of r.metrics ?? []) {
    const met = m.pass === undefined ? "" : m.pass ? "yes" : "**no**";
    lines.push(`| ${r.name} | ${m.name} | ${m.value} ${m.unit ?? ""} | ${m.target ?? ""} | ${met} |`);
  }
}
const failed = runs.filter((r) => !r.ok);
if (failed.length) lines.push("", `Failed to run: ${failed.map((f) => f.name).join(", ")}.`);
writeFileSync(`${benchDir}results.md`, `${lines.join("\n")}\n`);
process.stdout.write(`${lines.join("\n")}\n`);
process.exitCode = failed.length ? 1 : 0;
