import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SlipDecoder, slipEncode } from "../../src/rom/slip.js";

const DIR = join(import.meta.dirname, "../vectors/rom-transcripts");

describe("SLIP", () => {
  it("escapes C0 and DB and frames the packet", () => {
    expect([...slipEncode(Uint8Array.from([1, 0xc0, 2, 0xdb, 3]))]).toEqual([
      0xc0, 1, 0xdb, 0xdc, 2, 0xdb, 0xdd, 3, 0xc0,
    ]);
  });

  it("reproduces every real frame of a transcript from its packet, and decodes it back", () => {
    const t = JSON.parse(readFileSync(join(DIR, "esp32c3-write-flash-compressed.json"), "utf8")) as {
      events: Array<{ frame?: string; packet?: string }>;
    };
    let n = 0;
    for (const e of t.events) {
      if (!e.frame || !e.packet) continue;
      const packet = Buffer.from(e.packet, "hex");
      expect(Buffer.from(slipEncode(packet)).toString("hex")).toBe(e.frame);
      const evs = new SlipDecoder().push(Buffer.from(e.frame, "hex"));
      expect(evs).toEqual([{ kind: "packet", packet: Uint8Array.from(packet) }]);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  it("decodes a byte stream split at every position and merged frames", () => {
    const a = slipEncode(Uint8Array.from([0xc0, 0xdb, 7]));
    const b = slipEncode(Uint8Array.from([9, 9]));
    const stream = Uint8Array.from([...a, ...b]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new SlipDecoder();
      const evs = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      expect(
        evs.filter((e) => e.kind === "packet").map((e) => (e.kind === "packet" ? [...e.packet] : [])),
      ).toEqual([
        [0xc0, 0xdb, 7],
        [9, 9],
      ]);
    }
  });

  it("reports text outside frames as noise and survives bad escapes and oversize frames", () => {
    const d = new SlipDecoder(8);
    const evs = d.push(
      Uint8Array.from([
        ...Buffer.from("boot:"),
        0xc0,
        1,
        0xdb,
        0x01,
        2,
        0xc0,
        0xc0,
        ...new Array(20).fill(5),
        0xc0,
        0xc0,
        3,
        0xc0,
      ]),
    );
    expect(evs.map((e) => e.kind)).toEqual(["noise", "bad-frame", "bad-frame", "packet"]);
    expect(evs[1]).toMatchObject({ reason: "bad-escape" });
    expect(evs[2]).toMatchObject({ reason: "too-long" });
    expect(evs[3]).toEqual({ kind: "packet", packet: Uint8Array.from([3]) });
  });
});
