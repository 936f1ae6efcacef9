#!/usr/bin/env node
/**
 * Captures Espressif's esptool talking RFC 2217 to the virtual board (rsagen, issue 12): a logging
 * TCP relay sits between esptool and `startBoard()` (dist/, so `npm run build` first) and writes
 * every chunk in both directions with its time, plus the board's state changes, as JSON lines.
 * Not a test: it needs esptool (ESPTOOL, PATH or /root/.local/bin/esptool). The replay test
 * (test/sim/esptool-replay.test.ts) runs the captures in CI without it.
 *
 * The flasher stub's code is a third-party binary: the relay replaces the payload of every
 * MEM_DATA frame with zero bytes and recomputes its checksum before the board sees it (the board
 * never runs the code, it only checks the checksum), so no stub bytes end up in the capture.
 *
 * Usage: node test/vectors/esptool-rfc2217/capture.mjs [session-name ...]   (default: all)
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "../../..");
const { startBoard } = await import(join(ROOT, "dist/sim/index.js"));

/** 8 KiB: SHA-256 counter stream (4 KiB, incompressible) then 0x00..0xFF repeated (compressible). */
export function image8k() {
  const out = Buffer.alloc(8192);
  for (let i = 0; i < 128; i++)
    createHash("sha256").update(`rsagen-esptool-vectors:${i}`).digest().copy(out, i * 32);
  for (let i = 4096; i < 8192; i++) out[i] = i & 0xff;
  return out;
}

const MAC_SEED = "esptool-rfc2217-vectors";
const IMG = "image8k.bin";

/** Sessions: board options, flash preloaded with the image at 0x10000 or not, esptool arguments. */
const SESSIONS = {
  "esp32c3-chip-id": { target: "esp32c3", args: ["chip-id"] },
  "esp32c3-write-flash-921600": { target: "esp32c3", args: ["-b", "921600", "write-flash", "0x10000", IMG] },
  "esp32c3-read-flash": { target: "esp32c3", preload: true, args: ["read-flash", "0x10000", "8192", "out.bin"] },
  "esp32c3-erase-region": { target: "esp32c3", preload: true, args: ["erase-region", "0x10000", "0x1000"] },
  "esp32c3-ign-set-control-flash-id": { target: "esp32c3", query: "?ign_set_control", args: ["flash-id"] },
  "esp32c3-no-stub-write-flash": { target: "esp32c3", args: ["--no-stub", "write-flash", "0x10000", IMG] },
  "esp32c3-no-stub-read-flash": {
    target: "esp32c3",
    preload: true,
    args: ["--no-stub", "read-flash", "0x10000", "4096", "out.bin"],
  },
  "esp32c3-usb-reset-chip-id": {
    target: "esp32c3",
    resetCircuit: "usb-serial-jtag",
    args: ["--before", "usb-reset", "chip-id"],
  },
  "esp32-write-flash": { target: "esp32", args: ["write-flash", "0x10000", IMG] },
  "esp32c3-port-busy": { target: "esp32c3", holder: true, args: ["chip-id"] },
};

function findEsptool() {
  const c = [process.env.ESPTOOL, ...(process.env.PATH ?? "").split(":").map((d) => join(d, "esptool"))];
  c.push("/root/.local/bin/esptool");
  for (const p of c) if (p && existsSync(p) && spawnSync(p, ["version"]).status === 0) return p;
  throw new Error("esptool not found");
}

/**
 * Rewrites MEM_DATA frames in the client->server stream (Telnet over TCP, SLIP inside the data):
 * other bytes pass through at once, a frame that turns out to be MEM_DATA (00 07 ...) is held
 * until its end and sent again with a zeroed payload and the checksum of zeros (0xEF).
 */
class StubRedactor {
  telnet = "data"; // data | iac | verb | sb | sb-iac
  inFrame = false;
  escaped = false;
  decoded = [];
  held = [];
  holding = false;
  redacted = 0;

  push(chunk) {
    const out = [];
    for (const b of chunk) {
      // Telnet layer: everything that is not a data byte passes through untouched.
      if (this.telnet === "iac") {
        if (b === 0xff) this.telnet = "data";
        else {
          this.telnet = b === 0xfa ? "sb" : b >= 0xfb ? "verb" : "data";
          out.push(0xff, b);
          continue;
        }
      } else if (this.telnet === "verb") {
        this.telnet = "data";
        out.push(b);
        continue;
      } else if (this.telnet === "sb") {
        if (b === 0xff) this.telnet = "sb-iac";
        out.push(b);
        continue;
      } else if (this.telnet === "sb-iac") {
        this.telnet = b === 0xf0 ? "data" : "sb";
        out.push(b);
        continue;
      } else if (b === 0xff) {
        this.telnet = "iac";
        continue;
      }
      this.dataByte(b, out);
    }
    return Buffer.from(out);
  }

  dataByte(b, out) {
    const raw = b === 0xff ? [0xff, 0xff] : [b];
    if (b === 0xc0) {
      if (this.inFrame && this.decoded.length > 0) {
        const p = Buffer.from(this.decoded);
        const memData = p.length >= 24 && p.length === 8 + p.readUInt16LE(2);
        if (this.holding && memData) out.push(...this.redactedFrame());
        else if (this.holding) out.push(...this.held, ...raw);
        else out.push(...raw);
        this.inFrame = false;
        this.holding = false;
        this.decoded = [];
        this.held = [];
        return;
      }
      this.inFrame = true;
      this.decoded = [];
      this.held = [...raw];
      this.holding = true; // undecided until the op byte is known
      return;
    }
    if (!this.inFrame) {
      out.push(...raw);
      return;
    }
    if (this.escaped) {
      this.decoded.push(b === 0xdc ? 0xc0 : b === 0xdd ? 0xdb : b);
      this.escaped = false;
    } else if (b === 0xdb) this.escaped = true;
    else this.decoded.push(b);
    if (this.holding) this.held.push(...raw);
    if (this.holding && this.decoded.length === 2 && !(this.decoded[0] === 0x00 && this.decoded[1] === 0x07)) {
      out.push(...this.held);
      this.held = [];
      this.holding = false;
    } else if (!this.holding) out.push(...raw);
  }

  redactedFrame() {
    const p = Buffer.from(this.decoded);
    p.fill(0, 8 + 16); // payload after the 8-byte header and the 16-byte data header
    p.writeUInt32LE(0xef, 4); // esptool's checksum seed XOR all-zero payload
    this.redacted++;
    const slip = [0xc0];
    for (const x of p) {
      if (x === 0xc0) slip.push(0xdb, 0xdc);
      else if (x === 0xdb) slip.push(0xdb, 0xdd);
      else slip.push(x);
    }
    slip.push(0xc0);
    return slip.flatMap((x) => (x === 0xff ? [0xff, 0xff] : [x]));
  }
}

async function capture(name, s, esptool, version) {
  const dir = mkdtempSync(join(tmpdir(), "rsagen-capture-"));
  writeFileSync(join(dir, IMG), image8k());
  const flashSize = 4 * 1024 * 1024;
  let flashImage;
  if (s.preload) {
    flashImage = new Uint8Array(flashSize).fill(0xff);
    flashImage.set(image8k(), 0x10000);
  }
  const board = await startBoard({
    target: s.target,
    macSeed: MAC_SEED,
    bootRetryMs: 60_000,
    ...(s.resetCircuit ? { resetCircuit: s.resetCircuit } : {}),
    ...(flashImage ? { flashImage } : {}),
  });
  const t0 = performance.now();
  const now = () => Math.round((performance.now() - t0) * 100) / 100;
  const lines = [];
  board.on("state", (state, detail) => lines.push({ t: now(), state, ...(detail ? { detail } : {}) }));
  let holder;
  if (s.holder) {
    holder = net.connect(board.port, "127.0.0.1");
    await new Promise((r) => holder.once("connect", r));
    holder.on("data", () => undefined);
    await new Promise((r) => setTimeout(r, 200));
  }
  const redactor = new StubRedactor();
  const relay = net.createServer((client) => {
    client.setNoDelay(true);
    const up = net.connect(board.port, "127.0.0.1");
    up.setNoDelay(true);
    client.on("data", (chunk) => {
      const b = redactor.push(chunk);
      if (b.length === 0) return;
      lines.push({ t: now(), d: "c2s", hex: b.toString("hex") });
      up.write(b);
    });
    up.on("data", (chunk) => {
      lines.push({ t: now(), d: "s2c", hex: chunk.toString("hex") });
      client.write(chunk);
    });
    // Half-closes pass through as they came, so a refusal (line + FIN) reaches esptool unchanged.
    client.on("end", () => up.end());
    up.on("end", () => client.end());
    client.on("close", () => up.destroy());
    client.on("error", () => undefined);
    up.on("error", () => undefined);
  });
  await new Promise((r) => relay.listen(0, "127.0.0.1", r));
  const url = `rfc2217://127.0.0.1:${relay.address().port}${s.query ?? ""}`;
  const args = ["--port", url, ...s.args];
  const child = spawn(esptool, args, { cwd: dir, env: { ...process.env, NO_COLOR: "1", TERM: "dumb" } });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const status = await new Promise((r) => child.on("exit", r));
  await new Promise((r) => setTimeout(r, 300));
  relay.close();
  holder?.destroy();
  await board.close();
  const meta = {
    format: "rsagen-rfc2217-capture/1",
    session: name,
    esptool: version,
    command: `esptool ${args.map((a) => a.replace(/127\.0\.0\.1:\d+/, "HOST:PORT")).join(" ")}`,
    exit: status,
    captured: new Date().toISOString(),
    board: {
      target: s.target,
      macSeed: MAC_SEED,
      resetCircuit: s.resetCircuit ?? "auto-reset",
      preload: s.preload ? { addr: 0x10000, file: IMG } : null,
      holder: !!s.holder,
    },
    memDataFramesRedacted: redactor.redacted,
    output: output
      .split("\n")
      .filter((l) => !/VID\/PID/.test(l))
      .map((l) => l.replace(/127\.0\.0\.1:\d+/g, "HOST:PORT")),
  };
  writeFileSync(join(HERE, `${name}.jsonl`), [meta, ...lines].map((l) => JSON.stringify(l)).join("\n") + "\n");
  rmSync(dir, { recursive: true, force: true });
  return { status, bytes: readFileSync(join(HERE, `${name}.jsonl`)).length, redacted: redactor.redacted };
}

const esptool = findEsptool();
const version = spawnSync(esptool, ["version"], { encoding: "utf8" }).stdout.trim().split("\n").pop();
writeFileSync(join(HERE, IMG), image8k());
const wanted = process.argv.slice(2);
for (const [name, s] of Object.entries(SESSIONS)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const r = await capture(name, s, esptool, version);
  console.log(`${name}: esptool exit ${r.status}, ${r.bytes} bytes, ${r.redacted} MEM_DATA frames redacted`);
}
