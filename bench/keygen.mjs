// Firmware keygen benchmarks on the host build (DESIGN.md section 6). Writes bench/results/keygen.json.
//   1. Overhead: the keygen job vs a raw mbedtls_rsa_gen_key on the identical DRBG stream (same keys,
//      checked byte for byte), at the device's default 5 s watchdog timeout. Target ratio <= 1.03.
//   2. Longest gap between emulated watchdog feeds as a fraction of the timeout. Target <= 0.1.
//   3. PING round trip over the console while a 4096-bit key is generated, p50/p99. Target p99 <= 10 ms.
// Env: BENCH_KEYS (keys per size for 1 and 2, default 20). Needs cmake, libmbedtls-dev, and `npm run
// build` (the ping client uses dist/device/frame.js).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const buildDir = `${root}build/fw-bench`;
const keys = Number(process.env.BENCH_KEYS ?? 20);

execFileSync("cmake", ["-S", `${root}firmware/host`, "-B", buildDir, "-DCMAKE_BUILD_TYPE=Release"], {
  stdio: "ignore",
});
execFileSync("cmake", ["--build", buildDir, "-j", "2"], { stdio: "ignore" });

function benchJob(bits, count, wdtMs) {
  const out = execFileSync(
    `${buildDir}/rsagen-keygen-bench`,
    [String(bits), String(count), "--wdt-ms", String(wdtMs)],
    {
      encoding: "utf8",
      maxBuffer: 1 << 24,
    },
  );
  const lines = out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const summary = lines.find((l) => l.summary);
  if (summary?.mismatches !== 0) throw new Error(`job and raw keys differ: ${out}`);
  return summary;
}

const overhead = benchJob(2048, keys, 5000);
const gap2048 = benchJob(2048, keys, 100);
const gap4096 = benchJob(4096, Math.max(3, Math.floor(keys / 4)), 5000);

// PING during a 4096-bit generation: fixed seed "inline-3" (8,333 RNG calls, ~2 s on the dev host).
const { encodeFrame, FrameDecoder } = await import(`${root}dist/device/frame.js`).catch(() => {
  throw new Error("dist/device/frame.js missing: run `npm run build` first");
});
const rtts = await new Promise((resolve, reject) => {
  const fw = spawn(`${buildDir}/rsagen-fw`, ["--target", "esp32c3", "--wdt-ms", "5000"], {
    env: { ...process.env, RSAGEN_FW_SEED: "inline-3" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const dec = new FrameDecoder();
  const samples = [];
  let id = 1;
  let sentAt = 0n;
  let pingId = 0;
  let done = false;
  const ping = () => {
    pingId = ++id;
    sentAt = process.hrtime.bigint();
    fw.stdin.write(encodeFrame(0x02, pingId, new Uint8Array(16)));
  };
  fw.stdout.on("data", (chunk) => {
    for (const item of dec.push(new Uint8Array(chunk))) {
      if (item.kind !== "frame") continue;
      if (item.type === 0x40) fw.stdin.write(encodeFrame(0x03, 1, Uint8Array.of(0, 16, 0, 0, 1, 0, 1, 0)));
      else if (item.type === 0x83) ping();
      else if (item.type === 0x42 || item.type === 0x43) done = true;
      else if (item.type === 0x82 && item.requestId === pingId) {
        samples.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
        if (done) fw.stdin.end();
        else setTimeout(ping, 2);
      }
    }
  });
  fw.on("exit", (code) => (code === 0 ? resolve(samples) : reject(new Error(`rsagen-fw exited ${code}`))));
});
rtts.sort((a, b) => a - b);
const q = (p) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))];

const result = {
  name: "keygen",
  metrics: [
    {
      name: `job / raw mbedtls_rsa_gen_key time, ${keys} x 2048-bit, same DRBG, wdt 5 s`,
      value: +overhead.ratio.toFixed(4),
      unit: "x",
      target: "<= 1.03",
      pass: overhead.ratio <= 1.03,
    },
    {
      name: `longest gap between watchdog feeds / timeout, 2048-bit, wdt 100 ms`,
      value: +gap2048.max_feed_gap_fraction.toFixed(3),
      unit: "",
      target: "<= 0.1",
      pass: gap2048.max_feed_gap_fraction <= 0.1,
    },
    {
      name: `longest gap between watchdog feeds / timeout, 4096-bit, wdt 5 s`,
      value: +gap4096.max_feed_gap_fraction.toFixed(3),
      unit: "",
      target: "<= 0.1",
      pass: gap4096.max_feed_gap_fraction <= 0.1,
    },
    { name: "ping p50 during 4096-bit keygen", value: +q(0.5).toFixed(3), unit: "ms" },
    {
      name: "ping p99 during 4096-bit keygen",
      value: +q(0.99).toFixed(3),
      unit: "ms",
      target: "<= 10",
      pass: q(0.99) <= 10,
    },
    { name: "pings answered during 4096-bit keygen", value: rtts.length, unit: "" },
    {
      name: "job / raw time, 2048-bit, wdt 100 ms",
      value: +gap2048.ratio.toFixed(4),
      unit: "x",
    },
  ],
  raw: { overhead, gap2048, gap4096 },
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/keygen.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result.metrics));
if (!existsSync(`${buildDir}/rsagen-fw`)) process.exitCode = 1;
