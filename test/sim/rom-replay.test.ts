/**
 * Replays the 12 real ROM sessions (esptool v5.3.0 against the ESP32-C3 and ESP32 mask ROMs under
 * Espressif's QEMU) through the virtual chip's loader and demands byte-identical replies, including
 * the frames esptool drained without tracing (taken from the relay's wire capture).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SlipDecoder, slipEncode } from "../../src/rom/index.js";
import { MemoryFlash } from "../../src/sim/flash.js";
import { RomLoader } from "../../src/sim/rom-loader.js";
import { TARGETS } from "../../src/targets.js";

const DIR = join(import.meta.dirname, "../vectors/rom-transcripts");
const SESSIONS = [
  "chip-id",
  "read-mac",
  "flash-id",
  "write-flash-compressed",
  "verify-flash",
  "write-flash-no-compress",
] as const;

interface WireFrame {
  i: number;
  dir: "host->chip" | "chip->host";
  frame: string;
}

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, "hex"));
}

for (const chip of ["esp32c3", "esp32"] as const) {
  describe(`ROM transcript replay: ${chip}`, () => {
    // The sessions ran in this order on one flash file per chip, so state carries over.
    const flash = new MemoryFlash(4 * 1024 * 1024);
    for (const session of SESSIONS) {
      it(`${session}: every reply byte-identical to the real ROM`, () => {
        const wire = JSON.parse(readFileSync(join(DIR, `${chip}-${session}.wire.json`), "utf8")) as {
          frames: WireFrame[];
        };
        const loader = new RomLoader({
          target: TARGETS[chip],
          flash,
          mac: new Uint8Array(6),
          efuseProfile: "qemu",
        });
        const frames = wire.frames;
        let hostFrames = 0;
        for (let k = 0; k < frames.length; k++) {
          const f = frames[k]!;
          if (f.dir !== "host->chip") continue;
          hostFrames++;
          const expected: string[] = [];
          for (let j = k + 1; j < frames.length && frames[j]!.dir === "chip->host"; j++)
            expected.push(frames[j]!.frame);
          const actions = loader.receive(hex(f.frame));
          const got = actions.map((a) =>
            a.kind === "send" ? Buffer.from(a.bytes).toString("hex") : `<${a.kind}>`,
          );
          expect(got, `reply to host frame ${f.i} (${f.frame.slice(0, 24)}...)`).toEqual(expected);
        }
        expect(hostFrames).toBeGreaterThan(10);
      });
    }
    it("holds the written payload afterwards", () => {
      const payload = readFileSync(join(DIR, "payload4k.bin"));
      expect(Buffer.from(flash.read(0x10000, 4096)!)).toEqual(payload);
    });
  });
}

interface ProbeFile {
  format: "rom-probe/1";
  chip: string;
  steps: Array<{ name: string; request: string; replies: string[] }>;
}

// The ROM's reply buffer and READ_FLASH_SLOW, probed on the same real ROMs (rom-buffer-probe.py):
// stale bytes in the status word and in the 64-byte read block, the value field in every reply,
// the answer to an unknown command. Flash: payload4k.bin at 0x1000, the rest erased.
for (const chip of ["esp32c3", "esp32"] as const) {
  describe(`ROM reply-buffer probe replay: ${chip}`, () => {
    const probe = JSON.parse(readFileSync(join(DIR, `${chip}-rom-buffer.probe.json`), "utf8")) as ProbeFile;
    const image = new Uint8Array(4 * 1024 * 1024).fill(0xff);
    image.set(readFileSync(join(DIR, "payload4k.bin")), 0x1000);
    const loader = new RomLoader({
      target: TARGETS[chip],
      flash: new MemoryFlash(image.length, image),
      mac: new Uint8Array(6),
      efuseProfile: "qemu",
    });
    for (const [i, step] of probe.steps.entries()) {
      it(`${i} ${step.name}: replies byte-identical`, () => {
        const actions = loader.receive(slipEncode(hex(step.request)));
        const got = actions.flatMap((a) =>
          a.kind === "send"
            ? new SlipDecoder()
                .push(a.bytes)
                .flatMap((e) => (e.kind === "packet" ? [Buffer.from(e.packet).toString("hex")] : []))
            : [`<${a.kind}>`],
        );
        expect(got).toEqual(step.replies);
      });
    }
  });
}

// esptool v5.3.0's flasher stub (esp-flasher-stub v0.8.1) running on the ESP32-C3 under QEMU, left
// there by `esptool --after no-reset-stub`, probed the same way (rom-buffer-probe.py ... stub).
// Here a stand-in upload starts the virtual stub (the board never runs the uploaded code).
describe("flasher stub probe replay: esp32c3", () => {
  const probe = JSON.parse(readFileSync(join(DIR, "esp32c3-stub.probe.json"), "utf8")) as ProbeFile;
  const image = new Uint8Array(4 * 1024 * 1024).fill(0xff);
  image.set(readFileSync(join(DIR, "payload4k.bin")), 0x1000);
  const loader = new RomLoader({
    target: TARGETS.esp32c3,
    flash: new MemoryFlash(image.length, image),
    mac: new Uint8Array(6),
    efuseProfile: "qemu",
  });
  const packets = (bytes: Uint8Array) =>
    loader
      .receive(bytes)
      .flatMap((a) =>
        a.kind === "send"
          ? new SlipDecoder()
              .push(a.bytes)
              .flatMap((e) => (e.kind === "packet" ? [Buffer.from(e.packet).toString("hex")] : []))
          : [`<${a.kind}>`],
      );
  const RAM = 0x40380000;
  const cmd = (op: number, data: Uint8Array, checksum = 0) => {
    const p = new Uint8Array(8 + data.length);
    const v = new DataView(p.buffer);
    v.setUint8(1, op);
    v.setUint16(2, data.length, true);
    v.setUint32(4, checksum, true);
    p.set(data, 8);
    return slipEncode(p);
  };
  const u32s = (...w: number[]) => {
    const b = new Uint8Array(w.length * 4);
    for (const [i, x] of w.entries()) new DataView(b.buffer).setUint32(i * 4, x, true);
    return b;
  };

  it("a stand-in upload starts the stub (OHAI)", () => {
    packets(cmd(0x08, Uint8Array.from([7, 7, 0x12, 0x20, ...new Array(32).fill(0x55)])));
    packets(cmd(0x05, u32s(16, 1, 16, RAM)));
    packets(cmd(0x07, Uint8Array.from([...u32s(16, 0, 0, 0), ...new Array(16).fill(0)]), 0xef));
    expect(packets(cmd(0x06, u32s(0, RAM)))).toEqual(["010604000707122000000000", "4f484149"]);
  });
  for (const [i, step] of probe.steps.entries()) {
    it(`${i} ${step.name}: replies byte-identical`, () => {
      expect(packets(slipEncode(hex(step.request)))).toEqual(step.replies);
    });
  }
});
