// The emulated task watchdog bites for the right reasons: the inline negative control (generation in
// the command loop, the original bug) trips it every time, and the threaded job, on the same keys
// and on 100 random ones, never does.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildFirmware } from "./fw-build.js";
import { FwProcess, keygenPayload, readPart, T, u32 } from "./fw-process.js";
import { verifyRsaKeyPair } from "./verify-key.js";

beforeAll(() => {
  buildFirmware("inline");
  buildFirmware("normal");
});

const WDT_MS = "100";
// Fixed seeds (RSAGEN_FW_SEED) make the workload reproducible: each of these 4096-bit keys needs
// 2,000-8,300 RNG calls, 0.7-2.4 s of CPU on the development host, so every one outlasts the 100 ms
// timeout many times over, just as a device-speed key outlasts the chip's 5 s. A lucky random key
// can finish under 100 ms on a fast host and prove nothing either way.
const SEEDS = ["inline-1", "inline-2", "inline-4", "inline-7"];

describe("inline negative control", () => {
  for (const [i, seed] of SEEDS.entries()) {
    const target = i % 2 === 0 ? "esp32c3" : "esp32";
    it(`trips the watchdog (exit 5) on ${target}, seed ${seed}`, { timeout: 60_000 }, async () => {
      const exe = join(buildFirmware("inline"), "rsagen-fw");
      const fw = new FwProcess(exe, ["--target", target, "--wdt-ms", WDT_MS], { RSAGEN_FW_SEED: seed });
      try {
        const boot = await fw.event(T.BOOT);
        expect(boot.payload[2]! & 0x04).toBe(0x04); // INLINE_KEYGEN feature bit
        const id = fw.send(T.KEYGEN, keygenPayload(4096));
        expect((await fw.answer(id)).type).toBe(T.KEYGEN | 0x80);
        const status = await fw.exited;
        expect(status).toBe(5);
        expect(fw.text).toMatch(/E \(\d+\) task_wdt: Task watchdog got triggered/);
        const idle = target === "esp32" ? "IDLE0" : "IDLE";
        expect(fw.text).toContain(`task_wdt:  - ${idle} (CPU 0)`);
        expect(fw.text).toContain("task_wdt: CPU 0: cmd_loop"); // the command loop hogged core 0
        expect(fw.frames.some((f) => f.type === T.DONE)).toBe(false);
      } finally {
        fw.kill();
      }
    });
  }
});

describe("threaded keygen job", () => {
  it("finishes the same keys without tripping the watchdog, and they verify", {
    timeout: 120_000,
  }, async () => {
    const exe = join(buildFirmware("normal"), "rsagen-fw");
    for (const [i, seed] of SEEDS.slice(0, 2).entries()) {
      const target = i % 2 === 0 ? "esp32c3" : "esp32";
      const fw = new FwProcess(exe, ["--target", target, "--wdt-ms", WDT_MS], { RSAGEN_FW_SEED: seed });
      try {
        await fw.event(T.BOOT);
        expect((await fw.request(T.KEYGEN, keygenPayload(4096))).type).toBe(T.KEYGEN | 0x80);
        const done = await fw.event(T.DONE, 60_000);
        const priv = await readPart(fw, 0, u32(done, 24));
        const pub = await readPart(fw, 1, u32(done, 28));
        verifyRsaKeyPair(priv, pub, 4096);
        expect(await fw.close()).toBe(0);
        expect(fw.text).not.toContain("task_wdt");
      } finally {
        fw.kill();
      }
    }
  });

  it("never trips it in 100 random 1024-bit generations (single-core esp32c3)", {
    timeout: 240_000,
  }, async () => {
    const exe = join(buildFirmware("normal"), "rsagen-fw");
    const fw = new FwProcess(exe, ["--target", "esp32c3", "--wdt-ms", WDT_MS]);
    try {
      await fw.event(T.BOOT);
      let rngCalls = 0;
      for (let i = 0; i < 100; i++) {
        expect((await fw.request(T.KEYGEN, keygenPayload(1024))).type).toBe(T.KEYGEN | 0x80);
        const done = await fw.event(T.DONE, 60_000);
        rngCalls += u32(done, 16);
        const rel = await fw.request(T.RELEASE);
        expect(rel.type).toBe(T.RELEASE | 0x80);
        expect(rel.payload[0]).toBe(2); // it was DONE
      }
      expect(rngCalls).toBeGreaterThan(100 * 100);
      expect(await fw.close()).toBe(0);
      expect(fw.text).not.toContain("task_wdt");
      // Every job logged the emulated watchdog's longest gap between feeds; all stayed far below 100 ms.
      const gaps = [...fw.text.matchAll(/max wdt feed gap (\d+) us/g)].map((m) => Number(m[1]));
      expect(gaps).toHaveLength(100);
      expect(Math.max(...gaps)).toBeLessThan(100_000);
    } finally {
      fw.kill();
    }
  });
});

// The job's own watchdog entry (docs/firmware.md, "Watchdog"): Mbed TLS has steps that make no RNG
// call for longer than any watchdog timeout (a modular inverse at 4096 bits on a chip). The host
// firmware stands one in after mbedtls_rsa_gen_key: the task computes for RSAGEN_FW_LONG_STEP_MS of
// CPU time without a callback. A design that feeds from the RNG callback trips here; ours must not,
// and its entry must still bite when the task stops getting the CPU or computes past the step limit.
describe("long callback-free steps", () => {
  async function keygenWith(env: Record<string, string>, target = "esp32c3") {
    const exe = join(buildFirmware("normal"), "rsagen-fw");
    const fw = new FwProcess(exe, ["--target", target, "--wdt-ms", WDT_MS], {
      RSAGEN_FW_SEED: "long-step",
      ...env,
    });
    await fw.event(T.BOOT);
    expect((await fw.request(T.KEYGEN, keygenPayload(1024))).type).toBe(T.KEYGEN | 0x80);
    return fw;
  }

  for (const target of ["esp32c3", "esp32"]) {
    it(`a 1 s step (10x the timeout) does not trip it on ${target}; the key verifies`, {
      timeout: 60_000,
    }, async () => {
      const fw = await keygenWith({ RSAGEN_FW_LONG_STEP_MS: "1000" }, target);
      try {
        const done = await fw.event(T.DONE, 30_000);
        verifyRsaKeyPair(await readPart(fw, 0, u32(done, 24)), await readPart(fw, 1, u32(done, 28)), 1024);
        expect(await fw.close()).toBe(0);
        expect(fw.text).not.toContain("task_wdt");
        // The supervisor reset the job's entry all through the step (about every 10 ms).
        const resets = Number(/(\d+) wdt resets/.exec(fw.text)?.[1]);
        expect(resets).toBeGreaterThan(50);
      } finally {
        fw.kill();
      }
    });
  }

  it("a step past the step limit trips it, naming rsagen_keygen", { timeout: 60_000 }, async () => {
    const fw = await keygenWith({ RSAGEN_FW_LONG_STEP_MS: "3000", RSAGEN_FW_STEP_LIMIT_MS: "300" });
    try {
      expect(await fw.exited).toBe(5);
      expect(fw.text).toContain("task_wdt:  - rsagen_keygen (CPU 0)");
      expect(fw.text).not.toMatch(/task_wdt: {2}- IDLE/); // IDLE kept running beside the task
      expect(fw.text).toContain("task_wdt: CPU 0: keygen");
      expect(fw.frames.some((f) => f.type === T.DONE)).toBe(false);
    } finally {
      fw.kill();
    }
  });

  it("a task that stops getting the CPU trips it, naming rsagen_keygen", { timeout: 60_000 }, async () => {
    const fw = await keygenWith({ RSAGEN_FW_STUCK_STEP_MS: "3000" });
    try {
      expect(await fw.exited).toBe(5);
      expect(fw.text).toContain("task_wdt:  - rsagen_keygen (CPU 0)");
      expect(fw.text).not.toMatch(/task_wdt: {2}- IDLE/);
      expect(fw.frames.some((f) => f.type === T.DONE)).toBe(false);
    } finally {
      fw.kill();
    }
  });
});
