import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeAll, encodeFrame, type Frame } from "../../src/device/frame.js";
import {
  decodeDeviceFrame,
  decodeRequest,
  encodeBoot,
  encodeCsrRequest,
  encodeDeviceError,
  encodeHelloInfo,
  encodeJobEnd,
  encodeJobStatus,
  encodeKeepRequest,
  encodeKeygenAccepted,
  encodeKeygenRequest,
  encodePing,
  encodeProgress,
  encodeReadChunk,
  encodeReadRequest,
  encodeRebootRequest,
  encodeSignRequest,
  encodeSlotDeleted,
  encodeSlotInfo,
  encodeSlotList,
  encodeSlotListRequest,
  encodeSlotNameRequest,
  JOB_KINDS,
  JOB_STATES,
  PARTS,
  READ_MAX_CHUNK,
  REBOOT_MODES,
  STATUS_LEN,
  STATUS_V1_LEN,
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
const statusFields = (f: Any) => ({
  ...f,
  state: stateOf(f.state),
  kind: JOB_KINDS[f.kind ?? 0],
  outLen: f.outLen ?? 0,
  outSha256: f.outSha256 ?? "0".repeat(64),
});

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

  it("STATUS, DONE and FAILED share the 136-byte status (96 bytes from firmware before key slots)", () => {
    for (const [n, kind] of [
      ["status-response-idle", "status"],
      ["status-response-running", "status"],
      ["status-response-done", "status"],
      ["event-done", "done"],
      ["event-failed", "failed"],
      ["event-done-keep", "done"],
      ["status-response-sign-done", "status"],
      ["event-failed-csr", "failed"],
      ["status-response-done-v1", "status"],
    ] as const) {
      const m = byName(n);
      const want = statusFields(m.fields);
      const v1 = n.endsWith("-v1");
      expect(hex(encodeJobStatus(want, { v1 })), n).toBe(m.payloadHex);
      expect(m.payloadHex.length).toBe((v1 ? STATUS_V1_LEN : STATUS_LEN) * 2);
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

describe("key-slot message vectors (docs/protocol.md section 3, Key slots)", () => {
  it("HELLO's storage tail, and its absence from older firmware", () => {
    const m = byName("hello-response-slots");
    const f: Any = m.fields;
    const d = decodeDeviceFrame(frameOf(m));
    expect(d.kind).toBe("hello");
    if (d.kind !== "hello") return;
    expect(d.info.storage).toEqual({
      ...f.storage,
      flashEncryption: true,
      partition: true,
      encrypted: true,
      secureBoot: false,
    });
    expect(d.info.flags.keySlots && d.info.flags.slotCsr).toBe(true);
    const { flags: _f, ...info } = d.info;
    expect(hex(encodeHelloInfo(info))).toBe(m.payloadHex);
    const old = decodeDeviceFrame(frameOf(byName("hello-response")));
    expect(old.kind === "hello" && old.info.storage === undefined && !old.info.flags.keySlots).toBe(true);
  });

  it("requests encode to the vectors and parse back", () => {
    expect(hex(encodeSlotListRequest(0))).toBe(byName("slot-list-request").payloadHex);
    expect(hex(encodeSlotNameRequest("device"))).toBe(byName("slot-info-request").payloadHex);
    expect(hex(encodeSlotNameRequest("device"))).toBe(byName("slot-delete-request").payloadHex);
    const keep = { bits: 2048, exponent: 65537, replace: true, name: "device" };
    expect(hex(encodeKeepRequest(keep))).toBe(byName("keep-request").payloadHex);
    expect(decodeRequest(0x0c, unhex(byName("keep-request").payloadHex))).toEqual({ kind: "keep", ...keep });
    const csr = {
      name: "device",
      subject: "CN=device-42,O=Example",
      sans: [
        { type: "dns" as const, value: "device-42.example.org" },
        { type: "ip" as const, value: Uint8Array.from([10, 0, 0, 1]) },
      ],
    };
    expect(hex(encodeCsrRequest(csr))).toBe(byName("csr-request").payloadHex);
    const back = decodeRequest(0x0d, unhex(byName("csr-request").payloadHex));
    expect(back.kind === "csr" && back.subject === csr.subject && back.sans.map((x) => x.type)).toEqual([
      2, 7,
    ]);
    const sign = byName("sign-request");
    const digest = unhex((sign.fields as Any).digest);
    expect(hex(encodeSignRequest({ name: "device", scheme: "pss", digest }))).toBe(sign.payloadHex);
    expect(decodeRequest(0x0e, unhex(sign.payloadHex))).toEqual({
      kind: "sign",
      name: "device",
      scheme: 1,
      hash: 0,
      digest,
    });
    expect(hex(encodeReadRequest({ part: "out", offset: 0, length: 256 }))).toBe(
      byName("read-request-output").payloadHex,
    );
    // Refused before anything is sent: names, SANs, digests.
    expect(() => encodeSlotNameRequest("-bad")).toThrow();
    expect(() => encodeSlotNameRequest("a".repeat(32))).toThrow();
    expect(() => encodeKeepRequest({ ...keep, name: "a b" })).toThrow();
    expect(() =>
      encodeCsrRequest({ ...csr, sans: [{ type: "ip", value: Uint8Array.from([1, 2, 3]) }] }),
    ).toThrow();
    expect(() => encodeCsrRequest({ ...csr, subject: "CN=caf\u00e9" })).toThrow();
    expect(() => encodeSignRequest({ name: "device", scheme: "pss", digest: new Uint8Array(31) })).toThrow();
  });

  it("answers decode to their fields and the device-side encoders give the vector bytes", () => {
    const l = byName("slot-list-response");
    expect(hex(encodeSlotList(l.fields as Any))).toBe(l.payloadHex);
    expect(decodeDeviceFrame(frameOf(l))).toEqual({ kind: "slot-list", requestId: 20, list: l.fields });
    const i = byName("slot-info-response");
    const info = { ...(i.fields as Any), pub: unhex((i.fields as Any).pub) };
    expect(hex(encodeSlotInfo(info))).toBe(i.payloadHex);
    expect(decodeDeviceFrame(frameOf(i))).toEqual({ kind: "slot-info", requestId: 21, slot: info });
    const del = byName("slot-delete-response");
    expect(hex(encodeSlotDeleted(del.fields as Any))).toBe(del.payloadHex);
    expect(decodeDeviceFrame(frameOf(del))).toEqual({
      kind: "slot-delete",
      requestId: 22,
      deleted: del.fields,
    });
    for (const [n, kind, jobId] of [
      ["keep-response", "keep", 8],
      ["csr-response", "csr", 10],
      ["sign-response", "sign", 9],
    ] as const) {
      const m = byName(n);
      expect(decodeDeviceFrame(frameOf(m))).toEqual({ kind, requestId: m.requestId, jobId });
    }
    for (const [n, name] of [
      ["error-slot-not-found", "SLOT_NOT_FOUND"],
      ["error-not-allowed", "NOT_ALLOWED"],
    ] as const) {
      const m = byName(n);
      const d = decodeDeviceFrame(frameOf(m));
      expect(d.kind === "error" && d.error.name).toBe(name);
    }
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
      "hello-response-slots",
      "status-response-done",
      "status-response-sign-done",
      "slot-list-response",
      "slot-info-response",
      "slot-delete-response",
      "keep-response",
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
    rejects(frame(0x86, 1, [3, 0, 0, 0, 0, 0, 0, 0])); // unknown part
    const keep = unhex(byName("event-done-keep").payloadHex);
    keep[24] = 1; // a kept key that reports a private part
    rejects(frame(0x42, 0, keep));
    const sign = unhex(byName("status-response-sign-done").payloadHex);
    sign[100] = 0; // a finished signature of zero bytes
    sign[101] = 0;
    rejects(frame(0x84, 1, sign));
    sign[96] = 9; // unknown job kind
    rejects(frame(0x84, 1, sign));
    const list = unhex(byName("slot-list-response").payloadHex);
    list[0] = 1; // two entries but one slot
    rejects(frame(0x89, 1, list));
    const info = unhex(byName("slot-info-response").payloadHex);
    info[45] = 0x20; // slot name "device" -> " evice"
    rejects(frame(0x8a, 1, info));
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
