/**
 * Replays the 12 real ROM sessions (esptool v5.3.0 against the ESP32-C3 and ESP32 mask ROMs under
 * Espressif's QEMU) through the virtual chip's loader and demands byte-identical replies, including
 * the frames esptool drained without tracing (taken from the relay's wire capture).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
