import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { crc32 as zlibCrc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeAll } from "../../src/device/frame.js";
import { decodeDeviceFrame, decodeRequest } from "../../src/device/messages.js";

const doc = readFileSync(fileURLToPath(new URL("../../docs/protocol.md", import.meta.url)), "utf8");
const examples = doc.slice(doc.indexOf("## 6. Examples"), doc.indexOf("## 7."));

/** Every fenced block of section 6: hex bytes at the start of each line (comments after). */
function blocks(): Uint8Array[][] {
  const out: Uint8Array[][] = [];
  for (const m of examples.matchAll(/```\n([\s\S]*?)```/g)) {
    const lines = m[1]!.split("\n").filter((l) => /^[0-9a-f]{2}( |$)/.test(l));
    const hex = lines.map((l) => (/^((?:[0-9a-f]{2} ?)+)/.exec(l)?.[1] ?? "").trim().replace(/ /g, ""));
    // A block holds one frame over several lines, or one frame per line (request + response).
    const joined = Buffer.from(hex.join(""), "hex");
    const single = decodeAll(joined).items;
    if (single.length === 1 && single[0]?.kind === "frame") out.push([joined]);
    else out.push(hex.map((h) => Buffer.from(h, "hex")));
  }
  return out;
}

describe("docs/protocol.md section 6 examples", () => {
  it("are real frames: CRC-32 per zlib, and each payload decodes as its message", () => {
    const frames = blocks().flat();
    expect(frames.length).toBeGreaterThanOrEqual(11);
    for (const f of frames) {
      const end = f.length - 4;
      expect(Buffer.from(f).readUInt32LE(end)).toBe(zlibCrc32(f.subarray(0, end)));
      const { items } = decodeAll(f);
      expect(items).toHaveLength(1);
      const fr = items[0]!;
      if (fr.kind !== "frame") throw new Error("not a frame");
      if (fr.type & 0x80 || fr.requestId === 0) expect(decodeDeviceFrame(fr).kind).not.toBe("unknown");
      else expect(decodeRequest(fr.type, fr.payload).kind).not.toBe("unknown");
    }
  });
});
