// Runs every benchmark in bench/ in one run (one machine, one sitting, so ratios compare), then merges
// bench/results/*.json into bench/results.json and a Markdown table bench/results.md.
//
// Convention for a benchmark: bench/<name>.mjs (files starting with "_" are helpers) writes
// bench/results/<name>.json shaped { name, metrics: [{ name, value, unit, target?, pass? }],
// notes?: string[], ... }; run.mjs stamps it with ranAt (ISO date).
// Usage: npm run bench [-- name ...]   (names filter which benchmarks run; the others keep their figures
// from their last run, and results.md says which figures come from which run)
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
const previous = existsSync(`${benchDir}results.json`)
  ? JSON.parse(readFileSync(`${benchDir}results.json`, "utf8"))
  : undefined;
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
  if (ok) {
    const result = JSON.parse(readFileSync(out, "utf8"));
    writeFileSync(out, `${JSON.stringify({ ...result, ranAt: new Date().toISOString() }, null, 2)}\n`);
  }
  runs.push({ name, ok, seconds, exit: r.status });
  if (!ok) process.stderr.write(`bench: ${name} FAILED (exit ${r.status})\n`);
}

// Every benchmark's latest figures; one not run now keeps its last run's (dated by ranAt, or by the
// date of the run that last wrote results.json).
const results = readdirSync(resultsDir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(`${resultsDir}${f}`, "utf8")))
  .map((r) => ({
    ...r,
    ranAt:
      r.ranAt ??
      previous?.results?.find((p) => p.name === r.name)?.ranAt ??
      previous?.machine?.date ??
      "unknown",
  }));
for (const p of previous?.runs ?? []) {
  if (!runs.some((r) => r.name === p.name)) runs.push(p);
}
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
  `Machine: ${machine.cpuModel}, ${machine.cpus} cores, ${machine.memoryGiB} GiB, ${machine.platform}, Node ${machine.node}; load average ${machine.loadAverage.join(", ")} (1, 5, 15 min) when the run ended.`,
  ...(only.length === 0
    ? [`Run: ${machine.date}. All figures from this one run.`]
    : [
        `Run: ${machine.date}, of ${scripts.join(", ")} only. The other figures come from earlier runs:`,
        ...results.filter((r) => !scripts.includes(r.name)).map((r) => `- ${r.name}: ${r.ranAt}`),
      ]),
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
const noted = results.filter((r) => Array.isArray(r.notes) && r.notes.length > 0);
if (noted.length) {
  lines.push("", "Notes:");
  for (const r of noted) for (const n of r.notes) lines.push(`- ${r.name}: ${n}`);
}
const failed = runs.filter((r) => !r.ok && scripts.includes(r.name));
if (failed.length) lines.push("", `Failed to run: ${failed.map((f) => f.name).join(", ")}.`);
writeFileSync(`${benchDir}results.md`, `${lines.join("\n")}\n`);
process.stdout.write(`${lines.join("\n")}\n`);
process.exitCode = failed.length ? 1 : 0;
