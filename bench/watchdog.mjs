// Watchdog trials on the host firmware over its console (DESIGN.md section 6, "Responsiveness"):
//   1. the threaded job: N keys in a row (default 100 x 2048-bit) at a 100 ms emulated task watchdog;
//      target: zero watchdog resets.
//   2. the inline negative control (RSAGEN_INLINE_KEYGEN build): M random 4096-bit keys at the same 100 ms;
//      target: the watchdog fires every time.
// Keys use fresh entropy (no fixed seed). A trial counts as a watchdog reset when the firmware exits with
// status 5 after printing the "task_wdt: Task watchdog got triggered" report (contract C2).
// Env: BENCH_WDT_KEYS (default 100), BENCH_WDT_INLINE (default 20). Writes bench/results/watchdog.json.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const threadedKeys = Number(process.env.BENCH_WDT_KEYS ?? 100);
const inlineTrials = Number(process.env.BENCH_WDT_INLINE ?? 20);
const WDT_MS = 100;

function buildFirmware(dir, inline) {
  const opts = ["-DCMAKE_BUILD_TYPE=Release", `-DRSAGEN_INLINE_KEYGEN=${inline ? "ON" : "OFF"}`];
  execFileSync("cmake", ["-S", `${root}firmware/host`, "-B", dir, ...opts], { stdio: "ignore" });
  execFileSync("cmake", ["--build", dir, "-j", "2", "--target", "rsagen-fw"], { stdio: "ignore" });
  return `${dir}/rsagen-fw`;
}

const { encodeFrame, FrameDecoder } = await import(`${root}dist/device/frame.js`).catch(() => {
  throw new Error("dist/device/frame.js missing: run `npm run build` first");
});

const KEYGEN = 0x03;
const RELEASE = 0x07;
const keygenPayload = (bits) => {
  const p = new Uint8Array(8);
  new DataView(p.buffer).setUint16(0, bits, true);
  new DataView(p.buffer).setUint32(4, 65537, true);
  return p;
};

/**
 * Runs one firmware process and asks for `count` keys of `bits`, one after another (KEYGEN, wait for DONE
 * or FAILED, RELEASE). Resolves with how many keys completed and how the process ended.
 */
function session(exe, bits, count) {
  return new Promise((resolve, reject) => {
    const fw = spawn(exe, ["--target", "esp32c3", "--wdt-ms", String(WDT_MS)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const dec = new FrameDecoder();
    let text = "";
    let id = 1;
    let completed = 0;
    let failed = 0;
    const next = () => fw.stdin.write(encodeFrame(KEYGEN, ++id, keygenPayload(bits)));
    fw.stdout.on("data", (chunk) => {
      for (const item of dec.push(new Uint8Array(chunk))) {
        if (item.kind === "text") {
          text += Buffer.from(item.bytes).toString("latin1");
          continue;
        }
        if (item.type === 0x40)
          next(); // BOOT: the command loop is up
        else if (item.type === 0x42 || item.type === 0x43) {
          if (item.type === 0x43) failed++; // FAILED: counted, reported, never a success
          fw.stdin.write(encodeFrame(RELEASE, ++id, new Uint8Array(0)));
        } else if (item.type === (RELEASE | 0x80)) {
          completed++;
          if (completed >= count) fw.stdin.end();
          else next();
        }
      }
    });
    fw.on("error", reject);
    fw.on("exit", (code) => {
      const wdtReport = /task_wdt: Task watchdog got triggered/.test(text);
      resolve({ completed, failed, exitCode: code, watchdogReset: code === 5 && wdtReport });
    });
  });
}

const threadedExe = buildFirmware(`${root}build/fw-bench`, false);
const inlineExe = buildFirmware(`${root}build/fw-bench-inline`, true);

// 1. Threaded: one process for all keys, restarted (and counted) if the watchdog resets it.
let threadedResets = 0;
let threadedDone = 0;
let threadedFailed = 0;
const t0 = Date.now();
while (threadedDone < threadedKeys) {
  const r = await session(threadedExe, 2048, threadedKeys - threadedDone);
  threadedDone += r.completed;
  threadedFailed += r.failed;
  if (r.watchdogReset) threadedResets++;
  else if (r.exitCode !== 0) throw new Error(`threaded firmware exited ${r.exitCode}`);
}
const threadedSeconds = (Date.now() - t0) / 1000;

// 2. Inline negative control: a fresh process per trial (a trip ends it, as it reboots a chip).
let inlineTrips = 0;
let inlineCompleted = 0;
for (let i = 0; i < inlineTrials; i++) {
  const r = await session(inlineExe, 4096, 1);
  if (r.watchdogReset) inlineTrips++;
  inlineCompleted += r.completed;
}

const result = {
  name: "watchdog",
  metrics: [
    {
      name: `watchdog resets, threaded job, ${threadedKeys} x 2048-bit keys, wdt ${WDT_MS} ms`,
      value: threadedResets,
      unit: "",
      target: "0",
      pass: threadedResets === 0 && threadedFailed === 0,
    },
    {
      name: `watchdog fired, inline negative control, 4096-bit, wdt ${WDT_MS} ms`,
      value: `${inlineTrips}/${inlineTrials}`,
      unit: "trials",
      target: "every trial",
      pass: inlineTrips === inlineTrials,
    },
  ],
  raw: {
    threadedKeys,
    threadedDone,
    threadedFailed,
    threadedResets,
    threadedSeconds,
    inlineTrials,
    inlineTrips,
    inlineCompleted,
  },
};
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(new URL("./results/watchdog.json", import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result.metrics));
