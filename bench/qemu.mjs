// The real firmware (ESP-IDF build) on the QEMU board (src/sim/qemu: Espressif's QEMU with the
// chip's mask ROM, -icount 3), driven by the compiled CLI as a user drives a board. EMULATION
// FIGURES, not chip figures. Where ESP-IDF and QEMU are found:
//   1. Builds the firmware twice (`rsagen build`, cached per source state in build/qemu-fw/ as
//      test/qemu does): default (HW MPI on) and --no-hw-mpi. esp32 too when an Xtensa GCC exists.
//   2. Per build: `rsagen flash --no-stub` into an erased board, then `rsagen keygen` N keys per
//      size (1024/2048/4096). Board time = the firmware's own log line "keygen: job N: B-bit key
//      in X ms ... max rng gap Y us" (esp_timer, i.e. QEMU's virtual clock: with -icount 3 one
//      instruction is 8 ns of board time, whatever the host's load); wall time = the CLI process's
//      run time (node start-up, connect, generation, readback, verify, files). Medians, HW/SW
//      ratio per size, the longest RNG gap per configuration (the longest callback-free step of
//      mbedtls_rsa_gen_key, docs/firmware.md).
//   3. Flash throughput of the real app image (HW MPI build) into an erased board with pacing:
//      the QEMU board paces only chip->host bytes (its RFC 2217 server); host->chip bytes go
//      straight to QEMU's UART, whose model throttles them to the programmed baud in virtual time
//      only (and virtual time runs ahead of wall time while the CPU computes). So each baud runs
//      twice: with the board's one-way pacing, and with a relay in front of the board that also
//      paces the client's bytes at the baud the client set (RFC 2217 SET-BAUDRATE, baud/10 bytes
//      per second, 8N1), as a real UART does. At 115200 and 460800 (the ROM's CHANGE_BAUDRATE).
//      (Under QEMU the ROM loader may stop answering when fed at line rate: such a run is recorded
//      as an error with a note, not as a figure.)
//      Throughput = app bytes / the app region's write time (the CLI's region-done event: first
//      FLASH_DEFL_BEGIN to the last block's reply; MD5 check excluded), over line rate (baud/10).
// Needs `npm run build`. Writes bench/results/qemu.json.
// Env: QEMU_BENCH_KEYS="1024:7,2048:7,4096:5" (N per size), QEMU_BENCH_BUDGET_S=780 (keygen stops
// adding keys to a size once the bench has run this long; the N used is recorded),
// QEMU_BENCH_TARGETS="esp32c3,esp32".
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { buildReal, cli, jsonLines, realEnv } from "./_qemu-fw.mjs";

const { startQemuBoard } = await import(new URL("../dist/sim/qemu/board.js", import.meta.url).href);

const LABEL = "(QEMU emulation, -icount 3)";
const KEYS = (process.env.QEMU_BENCH_KEYS ?? "1024:7,2048:7,4096:5").split(",").map((s) => {
  const [bits, n] = s.split(":").map(Number);
  return { bits, n };
});
const BUDGET_MS = Number(process.env.QEMU_BENCH_BUDGET_S ?? 780) * 1000;
const TARGETS = (process.env.QEMU_BENCH_TARGETS ?? "esp32c3,esp32").split(",");
const CONFIGS = [
  { name: "HW MPI on", key: "hw", flags: [] },
  { name: "HW MPI off", key: "sw", flags: ["--no-hw-mpi"] },
];
const t0 = Date.now();
const work = mkdtempSync(join(tmpdir(), "rsagen-bench-qemu-"));
const metrics = [];
const notes = [
  `EMULATION FIGURES: the real ESP-IDF firmware on Espressif's QEMU with -icount 3 (one instruction = 8 ns of board time), not a chip. Board times come from the firmware's esp_timer, i.e. QEMU's virtual clock.`,
];
notes.push(
  "Pacing: the QEMU board paces only chip->host bytes (its RFC 2217 server); it hands the client's bytes straight to QEMU's UART, whose model throttles them to the programmed baud in virtual time only (Espressif's QEMU hw/char/esp32_uart.c, uart_receive), and virtual time runs ahead of wall time while the CPU is busy. Flash rows 'paced both ways' put the bench's relay in front of the board, which paces the client's bytes at the baud it set (RFC 2217 SET-BAUDRATE), as a real UART does.",
  "HW MPI under QEMU: Espressif's QEMU computes each RSA-accelerator operation on the host (libgcrypt) inside the register write that starts it and reports idle at once (hw/misc/esp32c3_rsa.c), so accelerator work costs zero board time. HW MPI board times therefore leave out the accelerator's own time on a chip, and the HW/SW board-time ratio overstates its gain; the 'board time per wall second' rows show the effect (the host's libgcrypt time is wall time without board time).",
);
const out = { name: "qemu", emulation: true, icount: 3, targets: {}, notes, metrics };

function write() {
  mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
  out.benchSeconds = Math.round((Date.now() - t0) / 1000);
  writeFileSync(new URL("./results/qemu.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
}

function readJson(url) {
  try {
    return JSON.parse(readFileSync(url, "utf8"));
  } catch {
    return undefined;
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r3 = (x) => +x.toFixed(3);

/** A QEMU board on its own (erased) flash file, everything the chip prints recorded. */
async function board(target, pacing) {
  const flashFile = join(work, `flash-${Date.now()}-${Math.random().toString(36).slice(2)}.bin`);
  const b = await startQemuBoard({ target, flashFile, pacing });
  let log = "";
  b.on("tx", (x) => {
    log += Buffer.from(x).toString("latin1");
  });
  return { b, log: () => log };
}

async function flash(port, dir, extra = []) {
  const r = await cli(["--json", "flash", "--no-stub", "--port", port, "--build-dir", dir, ...extra], {
    timeoutMs: 600_000,
  });
  const lines = jsonLines(r.stdout);
  if (r.status !== 0) {
    const e = lines.at(-1)?.error;
    throw new Error(
      `rsagen flash failed (exit ${r.status}): ${e ? `${e.code}: ${e.message}` : r.stderr.slice(-500)}`,
    );
  }
  return {
    result: lines.at(-1).result,
    warnings: lines.filter((l) => l.event === "warning").map((l) => l.message),
    ms: r.ms,
  };
}

// ---- pacing relay: the client's bytes at the baud the client set (RFC 2217) ----

const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
const COM_PORT = 44;
const SET_BAUDRATE = 1;

/** Watches a client's telnet stream for COM-PORT SET-BAUDRATE (RFC 2217 section 3). */
class BaudWatcher {
  state = "data";
  sub = [];
  constructor(onBaud) {
    this.onBaud = onBaud;
  }
  feed(buf) {
    for (const c of buf) {
      switch (this.state) {
        case "data":
          if (c === IAC) this.state = "iac";
          break;
        case "iac":
          if (c === SB) {
            this.state = "sb";
            this.sub = [];
          } else if (c >= 0xfb && c <= 0xfe) this.state = "opt";
          else this.state = "data"; // IAC IAC (a data byte) or a two-byte command
          break;
        case "opt":
          this.state = "data";
          break;
        case "sb":
          if (c === IAC) this.state = "sb-iac";
          else this.sub.push(c);
          break;
        case "sb-iac":
          if (c === SE) {
            const s = this.sub;
            if (s[0] === COM_PORT && s[1] === SET_BAUDRATE && s.length >= 6) {
              const baud = ((s[2] << 24) | (s[3] << 16) | (s[4] << 8) | s[5]) >>> 0;
              if (baud !== 0) this.onBaud(baud);
            }
            this.state = "data";
          } else {
            this.sub.push(c); // IAC IAC inside the subnegotiation
            this.state = "sb";
          }
          break;
      }
    }
  }
}

/**
 * A TCP relay in front of the board's RFC 2217 server that delivers the client's bytes at
 * baud/10 bytes per second (the board already paces the other direction). Resolves its URL.
 */
async function pacedRelay(boardPort) {
  const server = net.createServer((client) => {
    const upstream = net.createConnection({ host: "127.0.0.1", port: boardPort });
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    let baud = 115200;
    let start = performance.now();
    let sent = 0;
    const queue = [];
    let timer;
    const watcher = new BaudWatcher((b) => {
      baud = b;
      start = performance.now();
      sent = 0;
    });
    const pump = () => {
      timer = undefined;
      let budget = Math.floor(((performance.now() - start) * baud) / 10_000) - sent;
      while (budget > 0 && queue.length) {
        const head = queue[0];
        const n = Math.min(budget, head.length);
        upstream.write(head.subarray(0, n));
        sent += n;
        budget -= n;
        if (n === head.length) queue.shift();
        else queue[0] = head.subarray(n);
      }
      if (queue.length) timer = setTimeout(pump, 2);
    };
    client.on("data", (d) => {
      watcher.feed(d);
      if (!queue.length && !timer) {
        // An idle line: the budget does not accumulate while nothing is sent.
        start = performance.now();
        sent = 0;
      }
      queue.push(d);
      if (!timer) timer = setTimeout(pump, 1);
    });
    upstream.on("data", (d) => client.write(d));
    const end = () => {
      if (timer) clearTimeout(timer);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { url: `rfc2217://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

// ---- keygen per size, per configuration ----

const KEYGEN_LINE =
  /keygen: job (\d+): (\d+)-bit key in (\d+) ms, (\d+) rng calls, (\d+) wdt resets, max rng gap (\d+) us/g;

async function keygenRuns(target, config, dir) {
  const { b, log } = await board(target, true);
  try {
    const f = await flash(b.url, dir);
    await until(() => /Returned from app_main/.test(log()), 120_000, "the app to boot");
    const want = config.key === "hw" ? "hw-mpi on" : "hw-mpi off";
    if (!log().includes(want)) throw new Error(`the ${config.name} build's banner lacks "${want}"`);
    const sizes = [];
    for (const { bits, n } of KEYS) {
      const runs = [];
      for (let i = 0; i < n; i++) {
        if (i > 0 && Date.now() - t0 > BUDGET_MS) break;
        const dirOut = join(work, `keys-${target}-${config.key}-${bits}-${i}`);
        const l0 = log().length; // this key's log lines (job ids restart at 1 when the chip restarts)
        const r = await cli(["--json", "keygen", "--port", b.url, "--bits", String(bits), "--out", dirOut], {
          timeoutMs: 1_800_000,
        });
        if (r.status !== 0) throw new Error(`rsagen keygen ${bits} failed (${r.status}): ${r.stderr}`);
        const lines = jsonLines(r.stdout);
        const res = lines.at(-1).result;
        const line = () => [...log().slice(l0).matchAll(KEYGEN_LINE)].find((x) => Number(x[1]) === res.jobId);
        await until(() => line() !== undefined, 10_000, `the firmware's log line of job ${res.jobId}`);
        const m = line();
        const run = {
          // The CLI resets the board into the app when HELLO goes unanswered (src/keygen/connect.ts).
          cliResetBoard: lines.find((l) => l.event === "connected")?.reset === true,
          romBanners: (
            log()
              .slice(l0)
              .match(/ESP-ROM:/g) ?? []
          ).length,
          boardMs: Number(m[3]),
          cliDeviceElapsedMs: res.deviceElapsedMs,
          wallMs: Math.round(r.ms),
          waitMs: Math.round(res.timings.waitMs),
          rngCalls: Number(m[4]),
          wdtResets: Number(m[5]),
          maxRngGapUs: Number(m[6]),
        };
        runs.push(run);
        rmSync(dirOut, { recursive: true, force: true });
        process.stderr.write(`qemu: ${target} ${config.name} ${bits} #${i + 1}: ${JSON.stringify(run)}\n`);
      }
      sizes.push({
        bits,
        n: runs.length,
        nWanted: n,
        medianBoardMs: median(runs.map((x) => x.boardMs)),
        medianWallMs: median(runs.map((x) => x.wallMs)),
        maxRngGapUs: Math.max(...runs.map((x) => x.maxRngGapUs)),
        runs,
      });
    }
    if (/task_wdt/.test(log())) notes.push(`${target} ${config.name}: the task watchdog fired during keygen`);
    const all = sizes.flatMap((x) => x.runs);
    const resets = all.filter((x) => x.cliResetBoard).length;
    const boots = all.reduce((a, x) => a + x.romBanners, 0);
    if (resets || boots) {
      notes.push(
        `${target} ${config.name}: ${resets} of ${all.length} keygen runs reset the board first (HELLO unanswered within the CLI's probe time, src/keygen/connect.ts) and the chip booted ${boots} times during keygen runs; those runs' wall times include a boot.`,
      );
    }
    return { flash: { ...f.result, warnings: f.warnings }, sizes };
  } finally {
    await b.close();
  }
}

// ---- flash throughput of the real app image ----

async function flashRun(target, dir, appOffset, baud, pacedBothWays) {
  const { b } = await board(target, true);
  const relay = pacedBothWays ? await pacedRelay(b.port) : undefined;
  try {
    const f = await flash(relay?.url ?? b.url, dir, baud === 115200 ? [] : ["--baud", String(baud)]);
    const app = f.result.regions.find((r) => r.offset === appOffset);
    const lineRate = f.result.baud / 10;
    const run = {
      baudAsked: baud,
      baud: f.result.baud,
      pacedBothWays,
      appBytes: app.size,
      wireBytes: app.wireBytes,
      seconds: r3(app.seconds),
      xLineRate: r3(app.size / app.seconds / lineRate),
      wireXLineRate: r3(app.wireBytes / app.seconds / lineRate),
      totalSeconds: r3(f.result.seconds),
      warnings: f.warnings,
    };
    process.stderr.write(`qemu: flash ${JSON.stringify(run)}\n`);
    return run;
  } finally {
    relay?.close();
    await b.close();
  }
}

// ---- main ----

try {
  const envs = [];
  for (const t of TARGETS) {
    const e = await realEnv(t);
    if (e.ok) envs.push({ target: t, ...e });
    else notes.push(t === "esp32" && /Xtensa/.test(e.reason) ? "esp32: no Xtensa toolchain here" : e.reason);
  }
  if (envs.length === 0) notes.push("nothing ran: ESP-IDF or Espressif's QEMU not found (see above)");
  for (const { target, idf, qemu } of envs) {
    const t = { idf, qemu, builds: {}, keygen: {}, flash: {} };
    out.targets[target] = t;
    try {
      for (const c of CONFIGS) {
        const b = await buildReal(target, c.flags);
        t.builds[c.key] = { ...b, flags: c.flags };
        process.stderr.write(
          `qemu: ${target} ${c.name}: ${b.dir}${b.cached ? " (cached)" : ` (${b.seconds} s)`}\n`,
        );
      }
      const kgT0 = Date.now();
      for (const c of CONFIGS) t.keygen[c.key] = await keygenRuns(target, c, t.builds[c.key].dir);
      t.keygenSeconds = Math.round((Date.now() - kgT0) / 1000);

      for (const s of KEYS) {
        const hw = t.keygen.hw.sizes.find((x) => x.bits === s.bits);
        const sw = t.keygen.sw.sizes.find((x) => x.bits === s.bits);
        for (const [c, v] of [
          ["on", hw],
          ["off", sw],
        ]) {
          metrics.push({
            name: `${target} keygen ${s.bits}, HW MPI ${c}: board time, median of ${v.n} ${LABEL}`,
            value: v.medianBoardMs,
            unit: "ms",
          });
          metrics.push({
            name: `${target} keygen ${s.bits}, HW MPI ${c}: wall time (CLI), median of ${v.n} ${LABEL}`,
            value: v.medianWallMs,
            unit: "ms",
          });
        }
        metrics.push({
          name: `${target} keygen ${s.bits}: HW/SW board-time ratio ${LABEL}`,
          value: r3(hw.medianBoardMs / sw.medianBoardMs),
          unit: "x",
        });
        metrics.push({
          name: `${target} keygen ${s.bits}: HW/SW wall-time ratio ${LABEL}`,
          value: r3(hw.medianWallMs / sw.medianWallMs),
          unit: "x",
        });
      }
      // Board seconds per wall second while the board generated (CLI's KEYGEN -> DONE wait): how
      // fast QEMU's virtual clock ran against the host's for each build.
      for (const c of CONFIGS) {
        const runs = t.keygen[c.key].sizes.flatMap((x) => x.runs);
        const sum = (k) => runs.reduce((a, x) => a + x[k], 0);
        t.keygen[c.key].boardPerWall = r3(sum("boardMs") / sum("waitMs"));
        metrics.push({
          name: `${target} board time per wall second during keygen, ${c.name} ${LABEL}`,
          value: t.keygen[c.key].boardPerWall,
          unit: "s/s",
        });
      }
      for (const c of CONFIGS) {
        const sizes = t.keygen[c.key].sizes;
        const worst = sizes.reduce((a, x) => (x.maxRngGapUs > a.maxRngGapUs ? x : a));
        metrics.push({
          name: `${target} longest RNG gap, ${c.name} (at ${worst.bits} bits, ${sizes.map((x) => x.n).reduce((a, x) => a + x)} keys) ${LABEL}`,
          value: r3(worst.maxRngGapUs / 1000),
          unit: "ms board time",
        });
      }

      notes.push(
        `${target} longest RNG gap per size (board ms, max over the keys): ${CONFIGS.map((c) => `${c.name}: ${t.keygen[c.key].sizes.map((x) => `${x.bits} ${r3(x.maxRngGapUs / 1000)}`).join(", ")}`).join("; ")}. The RNG callback is the only hook into a running generation: the longest gap is how late a cancel can take effect, and it must stay well below CONFIG_RSAGEN_KEYGEN_STEP_LIMIT_S (default 60 s), the job's progress limit (docs/firmware.md, "Watchdog reasoning"). Gaps with HW MPI are low here: the accelerator's time is missing (see above).`,
      );
      const slowerHw = KEYS.filter(
        (s) =>
          t.keygen.hw.sizes.find((x) => x.bits === s.bits).medianWallMs >
          t.keygen.sw.sizes.find((x) => x.bits === s.bits).medianWallMs,
      ).map((s) => s.bits);
      if (slowerHw.length) {
        notes.push(
          `${target}: with HW MPI on, keygen took longer in wall time at ${slowerHw.join(", ")} bits although far less board time: each accelerator operation is MMIO into QEMU's device model (a slow path next to translated code) plus a libgcrypt call on the host. Only the board times speak about a chip, and the HW ones too low (see above).`,
        );
      }

      // Flash throughput: the default (HW MPI) build's app image.
      const dir = t.builds.hw.dir;
      const manifest = JSON.parse(readFileSync(join(dir, "flasher_args.json"), "utf8"));
      const appFile = manifest.app.file;
      const app = readFileSync(join(dir, appFile));
      const zlib9 = deflateSync(app, { level: 9 }).length;
      t.flash.image = { file: appFile, bytes: app.length, zlib9Bytes: zlib9, ratio: r3(app.length / zlib9) };
      metrics.push({
        name: `${target} real app image (${app.length} bytes): zlib level-9 compression ratio`,
        value: t.flash.image.ratio,
        unit: "x",
      });
      t.flash.runs = [];
      for (const [baud, both] of [
        [115200, false],
        [115200, true],
        [460800, false],
        [460800, true],
      ]) {
        try {
          const r = await flashRun(target, dir, Number(manifest.app.offset), baud, both);
          t.flash.runs.push(r);
          metrics.push({
            name: `${target} flash --no-stub, app region @ ${r.baud}${r.baud !== baud ? ` (asked ${baud})` : ""}, paced ${both ? "both ways" : "chip->host only"} ${LABEL}`,
            value: r.xLineRate,
            unit: "x line rate",
          });
        } catch (err) {
          t.flash.runs.push({ baudAsked: baud, pacedBothWays: both, error: err.message.split("\n")[0] });
        }
      }
      const img = t.flash.image;
      const hostImage = readJson(new URL("./results/flash.json", import.meta.url))?.images?.typical;
      notes.push(
        `${target} flash: the real app image (${img.bytes} bytes) deflates ${img.ratio}x at zlib level 9 (the CLI sends ${t.flash.runs.find((r) => r.wireBytes)?.wireBytes ?? "?"} bytes for it)` +
          (hostImage ? `, the host-build image of bench/flash.mjs ${hostImage.compressionRatio}x` : "") +
          `: a line-bound flash of the real app reaches at most ~${img.ratio}x line rate.`,
      );
      for (const r of t.flash.runs) {
        notes.push(
          r.error
            ? `${target} flash @ ${r.baudAsked}, paced ${r.pacedBothWays ? "both ways" : "chip->host only"}: ${r.error}`
            : `${target} flash @ ${r.baud}, paced ${r.pacedBothWays ? "both ways" : "chip->host only"}: app in ${r.seconds} s = ${r.xLineRate}x line rate, wire bytes ${r.wireXLineRate}x line rate${r.wireXLineRate > 1.02 ? " (above 1: the host->chip direction was not line-bound)" : r.wireXLineRate < 0.9 ? " (below 1: the emulated ROM loader, not the line, set the pace)" : ""}`,
        );
      }
      const both = t.flash.runs.filter((r) => r.pacedBothWays);
      if (both.some((r) => r.error) && t.flash.runs.some((r) => !r.pacedBothWays && !r.error)) {
        notes.push(
          `${target} flash: with the client's bytes delivered at line rate (the relay), the emulated ROM loader stopped answering during the write in ${both.filter((r) => r.error).length} of ${both.length} runs, while the same image flashed with the client's bytes at socket speed: an interaction of QEMU's UART model and the mask ROM under -icount, not a line figure (a chip's UART always receives at line rate).`,
        );
      }
    } catch (err) {
      notes.push(`${target}: ${err.message.split("\n")[0]}`);
      throw err;
    } finally {
      write();
    }
  }
  const used = Object.entries(out.targets)
    .map(([t, v]) =>
      Object.entries(v.keygen)
        .map(([k, c]) => `${t} ${k}: ${c.sizes.map((s) => `${s.bits}x${s.n}`).join(", ")}`)
        .join("; "),
    )
    .join("; ");
  if (used) notes.push(`keys per size (bits x N): ${used}`);
  write();
} finally {
  rmSync(work, { recursive: true, force: true });
}
