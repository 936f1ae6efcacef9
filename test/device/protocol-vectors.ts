/** Reader for test/vectors/protocol/frames.txt (format described at the top of that file). */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const VECTORS_DIR = fileURLToPath(new URL("../vectors/protocol/", import.meta.url));

export interface FrameVector {
  name: string;
  version: number;
  type: number;
  id: number;
  payload: Uint8Array;
  bytes: Uint8Array;
}

export type Expect =
  | { kind: "text"; bytes: Uint8Array }
  | { kind: "frame"; version: number; type: number; requestId: number; payload: Uint8Array };

export interface StreamVector {
  name: string;
  bytes: Uint8Array;
  expects: Expect[];
  /** frames, headerErrors, crcErrors, textBytes; null = not checked. */
  stats: [number | null, number | null, number | null, number | null];
}

const fromHex = (h: string): Uint8Array =>
  h === "-" ? new Uint8Array(0) : new Uint8Array(Buffer.from(h, "hex"));
const num = (s: string | undefined): number | null => (s === undefined || s === "-" ? null : Number(s));

export function loadFrameVectors(): { frames: FrameVector[]; streams: StreamVector[] } {
  const lines = readFileSync(`${VECTORS_DIR}frames.txt`, "utf8").split("\n");
  const frames: FrameVector[] = [];
  const streams: StreamVector[] = [];
  let cur: Record<string, string> = {};
  let expects: Expect[] = [];
  let kind = "";
  let name = "";
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const [key = "", ...rest] = line.split(" ");
    if (key === "frame" || key === "stream") {
      kind = key;
      name = rest.join(" ");
      cur = {};
      expects = [];
    } else if (key === "expect") {
      if (rest[0] === "text") expects.push({ kind: "text", bytes: fromHex(rest[1] ?? "") });
      else
        expects.push({
          kind: "frame",
          version: Number(rest[1]),
          type: Number.parseInt(rest[2] ?? "", 16),
          requestId: Number(rest[3]),
          payload: fromHex(rest[4] ?? "-"),
        });
    } else if (key === "end") {
      if (kind === "frame")
        frames.push({
          name,
          version: Number(cur["version"]),
          type: Number.parseInt(cur["type"] ?? "", 16),
          id: Number(cur["id"]),
          payload: fromHex(cur["payload"] ?? "-"),
          bytes: fromHex(cur["bytes"] ?? "-"),
        });
      else {
        const s = (cur["stats"] ?? "").split(" ");
        streams.push({
          name,
          bytes: fromHex(cur["bytes"] ?? "-"),
          expects,
          stats: [num(s[0]), num(s[1]), num(s[2]), num(s[3])],
        });
      }
    } else {
      cur[key] = rest.join(" ");
    }
  }
  return { frames, streams };
}
