import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeAll, encodeFrame, type Frame } from "../../src/device/frame.js";
import {
  decodeDeviceFrame,
  decodeRequest,
  encodeBoot,
  encodeDeviceError,
  encodeHelloInfo,
  encodeJobEnd,
  encodeJobStatus,
  encodeKeygenAccepted,
  encodeKeygenRequest,
  encodePing,
  encodeProgress,
  encodeReadChunk,
  encodeReadRequest,
  encodeRebootRequest,
  JOB_STATES,
  PARTS,
  READ_MAX_CHUNK,
  REBOOT_MODES,
} from "../../src/device/messages.js";
import { RsagenError } from "../../src/errors.js";
import { VECTORS_DIR } from "./protocol-vectors.js";

interface MessageVector {
  name: string;
  type: number;
  requestId: number;
  fields: Record<string, unknown>;
  payloadHex: string;
  frameHex: string;
}
const { messages } = JSON.parse(readFileSync(`${VECTORS_DIR}messages.json`, "utf8")) as {
  messages: MessageVector[];
};
const byName = (n: string) => {
  const m = messages.find((x) => x.name === n);
  if (!m) throw new Error(`no vector ${n}`);
  return m;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (h: string) => new Uint8Array(Buffer.from(h, "hex"));
const frameOf = (m: MessageVector): Frame => {
  const { items } = decodeAll(unhex(m.frameHex));
  const f = items[0];
  if (items.length !== 1 || f?.kind !== "frame") throw new Error(`vector ${m.name} is not one frame`);
  return f;
};
const stateOf = (n: unknown) => JOB_STATES[n as number];
// biome-ignore lint/suspicious/noExplicitAny: vector fields are untyped JSON
type Any = any;
const statusFields = (f: Any) => ({ ...f, state: stateOf(f.state) });

describe("message vectors: payloads from fields, and device frames to fields", () => {
  it("every vector frame carries its payload", () => {
    for (const m of messages) {
      expect(hex(encodeFrame(m.type, m.requestId, unhex(m.payloadHex))), m.name).toBe(m.frameHex);
    }
  });

  it("HELLO", () => {
    for (const n of ["hello-response", "hello-response-host"]) {
      const m = byName(n);
      const f: Any = m.fields;
      const info = { ...f, jobState: stateOf(f.jobState) };
      expect(hex(encodeHelloInfo(info))).toBe(m.payloadHex);
      const d = decodeDeviceFrame(frameOf(m));
      expect(d.kind).toBe("hello");
      if (d.kind !== "hello") return;
      const { flags, ...rest } = d.info;
      expect(rest).toEqual(info);
      expect(flags.cryptoExtra).toBe(true);
      expect(flags.hwMpi).toBe(true);
      expect(flags.hostBuild).toBe((f.features & 8) !== 0);
    }
  });

  it("PING, KEYGEN, READ, REBOOT requests encode and parse back", () => {
    expect(hex(encodePing(unhex("deadbeef")))).toBe(byName("ping-request").payloadHex);
    expect(hex(encodeKeygenRequest({ bits: 2048, exponent: 65537 }))).toBe(
      byName("keygen-request").payloadHex,
    );
    expect(hex(encodeReadRequest({ part: "priv", offset: 0, length: 1016 }))).toBe(
      byName("read-request").payloadHex,
    );
    expect(hex(encodeRebootRequest("download"))).toBe(byName("reboot-request").payloadHex);
    expect(decodeRequest(0x03, unhex(byName("keygen-request").payloadHex))).toEqual({
      kind: "keygen",
      bits: 2048,
      exponent: 65537,
    });
    expect(decodeRequest(0x06, unhex(byName("read-request").payloadHex))).toEqual({
      kind: "read",
      part: 0,
      offset: 0,
      length: 1016,
    });
    expect(decodeRequest(0x08, unhex("01"))).toEqual({ kind: "reboot", mode: 1 });
    expect(() => decodeRequest(0x03, unhex("0008"))).toThrow(RsagenError);
    expect(() => encodeReadRequest({ part: "pub", offset: 0, length: READ_MAX_CHUNK + 1 })).toThrow();
    expect(() => encodeKeygenRequest({ bits: 2048, exponent: 1 })).toThrow();
  });

  it("STATUS, DONE and FAILED share the 96-byte status", () => {
    for (const [n, kind] of [
      ["status-response-idle", "status"],
      ["status-response-running", "status"],
      ["status-response-done", "status"],
      ["event-done", "done"],
      ["event-failed", "failed"],
    ] as const) {
      const m = byName(n);
      const want = statusFields(m.fields);
      expect(hex(encodeJobStatus(want)), n).toBe(m.payloadHex);
      expect(m.payloadHex.length).toBe(96 * 2);
      const d = decodeDeviceFrame(frameOf(m));
      expect(d.kind).toBe(kind);
      if (d.kind === "status" || d.kind === "done" || d.kind === "failed") expect(d.status).toEqual(want);
    }
  });

  it("PROGRESS, KEYGEN accepted, CANCEL/RELEASE, READ chunks, REBOOT, ERROR, BOOT", () => {
    const p = byName("event-progress");
    expect(hex(encodeProgress(p.fields as Any))).toBe(p.payloadHex);
    expect(decodeDeviceFrame(frameOf(p))).toEqual({ kind: "progress", requestId: 0, progress: p.fields });

    const k = byName("keygen-response");
    expect(hex(encodeKeygenAccepted(7))).toBe(k.payloadHex);
    expect(decodeDeviceFrame(frameOf(k))).toEqual({ kind: "keygen", requestId: 3, jobId: 7 });

    for (const [n, kind] of [
      ["cancel-response", "cancel"],
      ["release-response-nojob", "release"],
    ] as const) {
      const m = byName(n);
      const f: Any = m.fields;
      const end = { prevState: stateOf(f.prevState), jobId: f.jobId };
      expect(hex(encodeJobEnd(end as Any))).toBe(m.payloadHex);
      expect(decodeDeviceFrame(frameOf(m))).toEqual({ kind, requestId: m.requestId, end });
    }

    for (const n of ["read-response", "read-response-max"]) {
      const m = byName(n);
      const f: Any = m.fields;
      const chunk = { part: PARTS[f.part], offset: f.offset, data: unhex(f.data) };
      expect(hex(encodeReadChunk(chunk as Any))).toBe(m.payloadHex);
      const d = decodeDeviceFrame(frameOf(m));
      expect(d.kind === "read" && d.chunk.part === chunk.part && d.chunk.offset === chunk.offset).toBe(true);
      if (d.kind === "read") expect(hex(d.chunk.data)).toBe(f.data);
    }

    expect(decodeDeviceFrame(frameOf(byName("reboot-response")))).toEqual({ kind: "reboot", requestId: 12 });
    expect(REBOOT_MODES[1]).toBe("download");

    const e = byName("error-response");
    expect(hex(encodeDeviceError(e.fields as Any))).toBe(e.payloadHex);
    expect(decodeDeviceFrame(frameOf(e))).toEqual({
      kind: "error",
      requestId: 4,
      error: { ...e.fields, name: "BUSY" },
    });

    const b = byName("event-boot");
    expect(hex(encodeBoot(b.fields as Any))).toBe(b.payloadHex);
    const d = decodeDeviceFrame(frameOf(b));
    expect(d.kind === "boot" && d.boot.target === "esp32" && d.boot.flags.hostBuild).toBe(true);
  });
});

describe("bad payloads from the device are protocol errors, never silent garbage", () => {
  const frame = (type: number, id: number, payload: number[] | Uint8Array): Frame => ({
    version: 1,
    type,
    requestId: id,
    payload: Uint8Array.from(payload),
  });
  const rejects = (f: Frame) => {
    try {
      decodeDeviceFrame(f);
    } catch (err) {
      expect(err).toBeInstanceOf(RsagenError);
      expect((err as RsagenError).code).toBe("E_DEVICE_PROTOCOL");
      return;
    }
    throw new Error("accepted a bad payload");
  };

  it("rejects truncated payloads of every device message", () => {
    for (const name of [
      "hello-response",
      "status-response-done",
      "event-progress",
      "cancel-response",
      "read-response",
      "error-response",
      "event-boot",
      "keygen-response",
    ]) {
      const f = frameOf(byName(name));
      const cut = name === "error-response" ? 3 : Math.max(0, f.payload.length - 1);
      if (name === "read-response") {
        rejects({ ...f, payload: f.payload.slice(0, 7) });
        rejects({ ...f, payload: f.payload.slice(0, f.payload.length - 1) }); // length field mismatch
      } else {
        rejects({ ...f, payload: f.payload.slice(0, cut) });
      }
    }
  });

  it("rejects out-of-range values", () => {
    const done = frameOf(byName("status-response-done"));
    const badState = done.payload.slice();
    badState[0] = 9;
    rejects({ ...done, payload: badState });
    const emptyDone = unhex(byName("status-response-idle").payloadHex);
    emptyDone[0] = 2; // done with zero lengths
    rejects(frame(0x84, 1, emptyDone));
    rejects(frame(0x83, 1, [0, 0, 0, 0])); // job id 0
    const hello = frameOf(byName("hello-response")).payload.slice();
    hello[4] = 0x00;
    hello[5] = 0x20; // min bits 8192 > max 4096
    rejects({ ...frameOf(byName("hello-response")), payload: hello });
    rejects(frame(0x86, 1, [2, 0, 0, 0, 0, 0, 0, 0])); // unknown part
  });

  it("passes unknown types through as unknown (compatible additions)", () => {
    expect(decodeDeviceFrame(frame(0x4e, 0, []))).toEqual({ kind: "unknown", requestId: 0, type: 0x4e });
    expect(decodeDeviceFrame(frame(0xb0, 3, []))).toEqual({ kind: "unknown", requestId: 3, type: 0xb0 });
    // Trailing bytes beyond a layout are ignored.
    const p = frameOf(byName("event-progress"));
    const longer = Uint8Array.from([...p.payload, 1, 2, 3]);
    expect(decodeDeviceFrame({ ...p, payload: longer }).kind).toBe("progress");
  });
});
