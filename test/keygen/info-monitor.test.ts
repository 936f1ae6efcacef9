import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { encodeFrame } from "../../src/device/frame.js";
import { describeFrame } from "../../src/keygen/frame-text.js";
import { type MonitorItem, startMonitor } from "../../src/keygen/monitor.js";
import { openTransport } from "../../src/serial/open-transport.js";
import { FakeBoard } from "./fake-board.js";

const boards: FakeBoard[] = [];
afterEach(async () => {
  for (const b of boards.splice(0)) await b.stop();
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function cliJson(args: string[]): Promise<{ last: Record<string, unknown>; exitCode: number }> {
  const chunks: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  await main(["node", "rsagen", "--json", ...args]);
  vi.restoreAllMocks();
  const lines = chunks.join("").split("\n").filter(Boolean);
  return {
    last: JSON.parse(lines.at(-1)!) as Record<string, unknown>,
    exitCode: Number(process.exitCode ?? 0),
  };
}

describe("rsagen info", () => {
  it("reports firmware version, target, features and free heap", async () => {
    const b = await FakeBoard.start();
    boards.push(b);
    const { last, exitCode } = await cliJson(["info", "--port", b.url]);
    expect(exitCode).toBe(0);
    const r = last.result as Record<string, unknown>;
    expect(r.firmwareVersion).toBe("0.1.0-fake");
    expect(r.target).toBe("esp32c3");
    expect(r.freeHeap).toBe(200_000);
    expect(r.featureNames).toEqual(["crypto-extra", "host-build"]);
    expect(b.resets).toBe(0);
  });

  it("--reset restarts the board first", async () => {
    const b = await FakeBoard.start({ preexistingJob: "done" });
    boards.push(b);
    const { last } = await cliJson(["info", "--reset", "--port", b.url]);
    expect(b.resets).toBe(1);
    expect((last.result as { jobState: number }).jobState).toBe(0);
  });

  it("a foreign app: E_FOREIGN_FIRMWARE, exit 39", async () => {
    const b = await FakeBoard.start({ mode: "foreign" });
    boards.push(b);
    const { last, exitCode } = await cliJson(["info", "--port", b.url]);
    expect(exitCode).toBe(39);
    expect((last.error as { code: string }).code).toBe("E_FOREIGN_FIRMWARE");
  });
});

describe("monitor", () => {
  it("passes console text through and shows frames compactly after a reset", async () => {
    const b = await FakeBoard.start({ mode: "rsagen" });
    boards.push(b);
    const t = await openTransport(b.url);
    const items: MonitorItem[] = [];
    const mon = await startMonitor(t, { reset: true }, (i) => items.push(i));
    await new Promise((r) => setTimeout(r, 300));
    mon.stop();
    await t.close();
    const text = items
      .filter((i) => i.kind === "text")
      .map((i) => Buffer.from((i as { bytes: Uint8Array }).bytes).toString("latin1"))
      .join("");
    expect(text).toMatch(/ESP-ROM:esp32c3/);
    expect(text).toMatch(/rsagen firmware up/);
    const frames = items.filter((i) => i.kind === "frame").map((i) => (i as { text: string }).text);
    expect(frames).toEqual(["\u00abBOOT esp32c3 fw 0.1.0-fake (power-on)\u00bb"]);
  });

  it("describes an ERROR answer and an undecodable frame", () => {
    const err = Buffer.concat([Buffer.from([3, 0, 3, 1]), Buffer.from("job exists")]);
    const f = (bytes: Uint8Array) => {
      const v = new DataView(bytes.buffer, bytes.byteOffset);
      return {
        version: 1,
        type: bytes[3]!,
        requestId: v.getUint16(4, true),
        payload: bytes.subarray(9, bytes.length - 4),
      };
    };
    expect(describeFrame(f(encodeFrame(0xff, 4, err)))).toBe('\u00abERROR BUSY "job exists" #4\u00bb');
    expect(describeFrame(f(encodeFrame(0x84, 5, new Uint8Array(3))))).toMatch(/undecodable/);
  });
});
