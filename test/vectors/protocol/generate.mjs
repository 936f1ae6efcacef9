// Generates frames.txt and messages.json for the rsagen device protocol (docs/protocol.md).
//
// Independent of both codecs on purpose: frames are built here with node:zlib's crc32 and a
// bitwise CRC-8, and every expected decode result follows from how the stream was constructed
// (which segments are good frames, which are text), not from running a decoder.
// Run: node test/vectors/protocol/generate.mjs   (rewrites the files next to this script)
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32 } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));

function crc8(bytes) {
  let c = 0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
  }
  return c;
}
if (crc8(Buffer.from("123456789")) !== 0xf4) throw new Error("crc8 self-check (CRC-8/SMBUS check 0xF4)");
if (crc32(Buffer.from("123456789")) !== 0xcbf43926) throw new Error("crc32 self-check");

/** Frame bytes; `over` lets a vector fake header fields (length, check byte, crc). */
function frame(version, type, id, payload = [], over = {}) {
  const p = Buffer.from(payload);
  const len = over.length ?? p.length;
  const h = Buffer.from([0xc1, 0xf5, version, type, id & 0xff, id >> 8, len & 0xff, len >> 8]);
  const hc = over.hcheck ?? crc8(h.subarray(2));
  const body = Buffer.concat([h, Buffer.from([hc]), p]);
  const c = Buffer.alloc(4);
  c.writeUInt32LE(over.crc ?? crc32(body));
  return Buffer.concat([body, c]);
}
const hex = (b) => Buffer.from(b).toString("hex");
const u16 = (v) => [v & 0xff, (v >> 8) & 0xff];
const u32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return [...b];
};
const i32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v);
  return [...b];
};
const str = (s) => [Buffer.byteLength(s), ...Buffer.from(s)];
const flip = (buf, bit) => {
  const b = Buffer.from(buf);
  b[bit >> 3] ^= 1 << (bit & 7);
  return b;
};

// Deterministic PRNG (xorshift32) so the files are reproducible.
let seed = 0x2545f491;
function rnd() {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed;
}
const randomBytes = (n) => Buffer.from(Array.from({ length: n }, () => rnd() & 0xff));

// ---- message payloads (field values -> bytes), shared by frames.txt and messages.json ----------
const sha = (tag) => [...Buffer.alloc(32, tag)];
const messages = [];
function msg(name, type, id, fields, payload) {
  messages.push({ name, type, requestId: id, fields, payloadHex: hex(payload), frameHex: hex(frame(1, type, id, payload)) });
}
const hello = {
  protoVersion: 1, jobState: 0, features: 0x0003, minBits: 1024, maxBits: 4096, mbedtlsVersion: 0x03060700,
  freeHeap: 251904, largestFreeBlock: 122880, wdtTimeoutMs: 5000, firmwareVersion: "0.1.0", target: "esp32c3",
  idfVersion: "v5.5.1", mbedtlsVersionString: "Mbed TLS 3.6.7",
};
const helloBytes = (h) => [
  h.protoVersion, h.jobState, ...u16(h.features), ...u16(h.minBits), ...u16(h.maxBits), ...u32(h.mbedtlsVersion),
  ...u32(h.freeHeap), ...u32(h.largestFreeBlock), ...u32(h.wdtTimeoutMs), ...str(h.firmwareVersion),
  ...str(h.target), ...str(h.idfVersion), ...str(h.mbedtlsVersionString),
];
// The 96-byte status of firmware before key slots, and the 136-byte one (kind, output length and
// SHA-256 appended at 96) of firmware with them.
const statusBytesV1 = (s) => [
  s.state, 0, ...u16(s.bits), ...u32(s.jobId), ...u32(s.exponent), ...u32(s.elapsedMs), ...u32(s.rngCalls),
  ...i32(s.mbedtlsError), ...u32(s.privLen), ...u32(s.pubLen), ...Buffer.from(s.privSha256, "hex"),
  ...Buffer.from(s.pubSha256, "hex"),
];
const statusBytes = (s) => [...statusBytesV1(s), s.kind, 0, 0, 0, ...u32(s.outLen), ...Buffer.from(s.outSha256, "hex")];
const zeroSha = hex(Buffer.alloc(32));
const statusIdle = { state: 0, bits: 0, jobId: 0, exponent: 0, elapsedMs: 0, rngCalls: 0, mbedtlsError: 0, privLen: 0, pubLen: 0, privSha256: zeroSha, pubSha256: zeroSha, kind: 0, outLen: 0, outSha256: zeroSha };
const statusRunning = { ...statusIdle, state: 1, bits: 2048, jobId: 7, exponent: 65537, elapsedMs: 1500, rngCalls: 812 };
const statusDone = { ...statusRunning, state: 2, elapsedMs: 9120, rngCalls: 4211, privLen: 1192, pubLen: 294, privSha256: hex(sha(0xa1)), pubSha256: hex(sha(0xb2)) };
const statusFailed = { ...statusRunning, state: 3, elapsedMs: 300, mbedtlsError: -0x4180 };

msg("hello-request", 0x01, 1, {}, []);
msg("hello-response", 0x81, 1, hello, helloBytes(hello));
// Firmware with key slots appends u16 storage flags, u8 slots used, u8 slot capacity, and the
// u32 reset reason of its last reset (esp_reset_reason_t; 6 = ESP_RST_TASK_WDT).
const storage = { flags: 0x0007, slotsUsed: 2, slotsCapacity: 15 };
const helloSlots = { ...hello, features: 0x0063, storage, resetReason: 6 };
msg("hello-response-slots", 0x81, 14, helloSlots, [...helloBytes(helloSlots), ...u16(storage.flags), storage.slotsUsed, storage.slotsCapacity, ...u32(6)]);
msg("hello-response-host", 0x81, 2, { ...hello, features: 0x000b, jobState: 2, target: "esp32", idfVersion: "host", mbedtlsVersion: 0x03060600, mbedtlsVersionString: "Mbed TLS 3.6.6" },
  helloBytes({ ...hello, features: 0x000b, jobState: 2, target: "esp32", idfVersion: "host", mbedtlsVersion: 0x03060600, mbedtlsVersionString: "Mbed TLS 3.6.6" }));
msg("ping-request", 0x02, 2, { data: "deadbeef" }, [0xde, 0xad, 0xbe, 0xef]);
msg("ping-response", 0x82, 2, { data: "deadbeef" }, [0xde, 0xad, 0xbe, 0xef]);
msg("keygen-request", 0x03, 3, { bits: 2048, exponent: 65537 }, [...u16(2048), 0, 0, ...u32(65537)]);
msg("keygen-response", 0x83, 3, { jobId: 7 }, u32(7));
msg("status-request", 0x04, 5, {}, []);
msg("status-response-idle", 0x84, 5, statusIdle, statusBytes(statusIdle));
msg("status-response-running", 0x84, 6, statusRunning, statusBytes(statusRunning));
msg("status-response-done", 0x84, 7, statusDone, statusBytes(statusDone));
msg("event-done", 0x42, 0, statusDone, statusBytes(statusDone));
msg("event-failed", 0x43, 0, statusFailed, statusBytes(statusFailed));
// Firmware before key slots sends 96 bytes; a host decodes it as a keygen job with no output.
const { kind: _k, outLen: _o, outSha256: _s, ...statusDoneV1 } = statusDone;
msg("status-response-done-v1", 0x84, 7, statusDoneV1, statusBytesV1(statusDone));
const statusKeepDone = { ...statusDone, jobId: 8, privLen: 0, privSha256: zeroSha, kind: 1 };
msg("event-done-keep", 0x42, 0, statusKeepDone, statusBytes(statusKeepDone));
const statusSignDone = { ...statusIdle, state: 2, bits: 2048, jobId: 9, elapsedMs: 1020, rngCalls: 3, kind: 3, outLen: 256, outSha256: hex(sha(0xc3)) };
msg("status-response-sign-done", 0x84, 13, statusSignDone, statusBytes(statusSignDone));
const statusCsrFailed = { ...statusIdle, state: 3, bits: 4096, jobId: 10, elapsedMs: 12, kind: 2, mbedtlsError: -0x5a11 };
msg("event-failed-csr", 0x43, 0, statusCsrFailed, statusBytes(statusCsrFailed));
msg("event-progress", 0x41, 0, { jobId: 7, elapsedMs: 1500, rngCalls: 812, bits: 2048 }, [...u32(7), ...u32(1500), ...u32(812), ...u16(2048), 0, 0]);
msg("cancel-request", 0x05, 8, {}, []);
msg("cancel-response", 0x85, 8, { prevState: 1, jobId: 7 }, [1, 0, 0, 0, ...u32(7)]);
msg("release-response-nojob", 0x87, 9, { prevState: 0, jobId: 0 }, [0, 0, 0, 0, ...u32(0)]);
msg("read-request", 0x06, 10, { part: 0, length: 1016, offset: 0 }, [0, 0, ...u16(1016), ...u32(0)]);
msg("read-response", 0x86, 10, { part: 1, offset: 0x124, data: "30820122" }, [1, 0, ...u16(4), ...u32(0x124), 0x30, 0x82, 0x01, 0x22]);
const bigChunk = randomBytes(1016);
msg("read-response-max", 0x86, 11, { part: 0, offset: 1016, data: hex(bigChunk) }, [0, 0, ...u16(1016), ...u32(1016), ...bigChunk]);
msg("reboot-request", 0x08, 12, { mode: 1 }, [1]);
msg("reboot-response", 0x88, 12, {}, []);
msg("error-response", 0xff, 4, { code: 3, requestType: 3, protoVersion: 1, message: "job exists" }, [...u16(3), 3, 1, ...Buffer.from("job exists")]);
// ---- key slots (docs/protocol.md section 3, "Key slots") -------------------------------------
const pubDer = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37 + 11) & 0xff));
pubDer[0] = 0x30;
msg("slot-list-request", 0x09, 20, { first: 0 }, [0]);
const slotEntries = [
  { name: "backup", keyType: 1, bits: 4096, pubLen: 550, seq: 3 },
  { name: "device", keyType: 1, bits: 2048, pubLen: 294, seq: 7 },
];
const slotEntryBytes = (e) => [e.keyType, 0, ...u16(e.bits), ...u16(e.pubLen), 0, 0, ...u32(e.seq), ...str(e.name)];
const slotList = { total: 2, first: 0, flags: 0x0002, capacity: 15, free: 13, partitionSize: 0x10000, slots: slotEntries };
msg("slot-list-response", 0x89, 20, slotList, [2, 0, 2, 0, ...u16(0x0002), 15, 13, ...u32(0x10000), ...slotEntries.flatMap(slotEntryBytes)]);
msg("slot-info-request", 0x0a, 21, { name: "device" }, str("device"));
const slotInfo = { name: "device", keyType: 1, bits: 2048, seq: 7, pubSha256: hex(sha(0xd4)), pub: hex(pubDer) };
msg("slot-info-response", 0x8a, 21, slotInfo, [1, 0, ...u16(2048), ...u32(7), ...u16(pubDer.length), 0, 0, ...sha(0xd4), ...str("device"), ...pubDer]);
msg("slot-delete-request", 0x0b, 22, { name: "device" }, str("device"));
msg("slot-delete-response", 0x8b, 22, { name: "device", seq: 7 }, [...u32(7), ...str("device")]);
msg("keep-request", 0x0c, 23, { bits: 2048, exponent: 65537, replace: true, name: "device" }, [...u16(2048), 0, 0, ...u32(65537), 1, 0, 0, 0, ...str("device")]);
msg("keep-response", 0x8c, 23, { jobId: 8 }, u32(8));
const subject = "CN=device-42,O=Example";
msg("csr-request", 0x0d, 24,
  { name: "device", subject, sans: [{ type: "dns", value: "device-42.example.org" }, { type: "ip", value: "0a000001" }] },
  [0, 0, ...u16(subject.length), ...str("device"), ...Buffer.from(subject), 2, 2, 21, ...Buffer.from("device-42.example.org"), 7, 4, 10, 0, 0, 1]);
msg("csr-response", 0x8d, 24, { jobId: 10 }, u32(10));
const digest = [...Buffer.from("b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c", "hex")];
msg("sign-request", 0x0e, 25, { name: "device", scheme: "pss", digest: hex(digest) }, [1, 0, 0, 0, ...digest, ...str("device")]);
msg("sign-response", 0x8e, 25, { jobId: 9 }, u32(9));
msg("read-request-output", 0x06, 26, { part: 2, length: 256, offset: 0 }, [2, 0, ...u16(256), ...u32(0)]);
msg("error-slot-not-found", 0xff, 27, { code: 11, requestType: 0x0a, protoVersion: 1, message: "no such slot" }, [...u16(11), 0x0a, 1, ...Buffer.from("no such slot")]);
msg("error-not-allowed", 0xff, 28, { code: 15, requestType: 0x06, protoVersion: 1, message: "the private key stays on the board" }, [...u16(15), 0x06, 1, ...Buffer.from("the private key stays on the board")]);

// ---- layouts.txt: where the C header (rsagen_proto.h) says each field is ----------------------
// For the C runner, which has no message codec of its own beyond these offsets: each line names a
// vector, an offset constant and the bytes that must be there. The spec offset is checked here
// against the payload built above by concatenation (a wrong line fails generation).
const layouts = [];
function layout(vec, constant, specOff, bytes) {
  const m = messages.find((x) => x.name === vec);
  const p = Buffer.from(m.payloadHex, "hex");
  const want = Buffer.from(bytes);
  if (!p.subarray(specOff, specOff + want.length).equals(want)) throw new Error(`layout ${vec} ${constant}: not at ${specOff}`);
  layouts.push(`layout ${vec} ${constant} ${hex(want)}`);
}
layout("hello-response-slots", "HELLO_TAIL(STORE_FLAGS)", Buffer.from(messages.find((x) => x.name === "hello-response-slots").payloadHex, "hex").length - 8, u16(0x0007));
layout("hello-response-slots", "HELLO_TAIL(SLOTS_USED)", Buffer.from(messages.find((x) => x.name === "hello-response-slots").payloadHex, "hex").length - 6, [2]);
layout("hello-response-slots", "HELLO_TAIL(SLOTS_CAP)", Buffer.from(messages.find((x) => x.name === "hello-response-slots").payloadHex, "hex").length - 5, [15]);
layout("hello-response-slots", "HELLO_TAIL(RESET_REASON)", Buffer.from(messages.find((x) => x.name === "hello-response-slots").payloadHex, "hex").length - 4, u32(6));
layout("event-done-keep", "RSAGEN_STATUS_OFF_KIND", 96, [1]);
layout("event-done-keep", "RSAGEN_STATUS_OFF_PRIV_LEN", 24, u32(0));
layout("status-response-sign-done", "RSAGEN_STATUS_OFF_KIND", 96, [3]);
layout("status-response-sign-done", "RSAGEN_STATUS_OFF_OUT_LEN", 100, u32(256));
layout("status-response-sign-done", "RSAGEN_STATUS_OFF_OUT_SHA256", 104, sha(0xc3));
layout("event-failed-csr", "RSAGEN_STATUS_OFF_MBEDTLS_ERR", 20, i32(-0x5a11));
layout("slot-list-request", "RSAGEN_SLOTLIST_OFF_FIRST", 0, [0]);
layout("slot-list-response", "RSAGEN_SLOTLIST_OFF_TOTAL", 0, [2]);
layout("slot-list-response", "RSAGEN_SLOTLIST_OFF_FIRST_ECHO", 1, [0]);
layout("slot-list-response", "RSAGEN_SLOTLIST_OFF_COUNT", 2, [2]);
layout("slot-list-response", "RSAGEN_SLOTLIST_OFF_FLAGS", 4, u16(0x0002));
layout("slot-list-response", "RSAGEN_SLOTLIST_OFF_CAPACITY", 6, [15]);
layout("slot-list-response", "RSAGEN_SLOTLIST_OFF_FREE", 7, [13]);
layout("slot-list-response", "RSAGEN_SLOTLIST_OFF_PART_SIZE", 8, u32(0x10000));
layout("slot-list-response", "ENTRY0(RSAGEN_SLOTENT_OFF_KEY_TYPE)", 12, [1]);
layout("slot-list-response", "ENTRY0(RSAGEN_SLOTENT_OFF_BITS)", 14, u16(4096));
layout("slot-list-response", "ENTRY0(RSAGEN_SLOTENT_OFF_PUB_LEN)", 16, u16(550));
layout("slot-list-response", "ENTRY0(RSAGEN_SLOTENT_OFF_SEQ)", 20, u32(3));
layout("slot-list-response", "ENTRY0(RSAGEN_SLOTENT_OFF_NAME)", 24, str("backup"));
layout("slot-info-response", "RSAGEN_SLOTINFO_OFF_KEY_TYPE", 0, [1]);
layout("slot-info-response", "RSAGEN_SLOTINFO_OFF_BITS", 2, u16(2048));
layout("slot-info-response", "RSAGEN_SLOTINFO_OFF_SEQ", 4, u32(7));
layout("slot-info-response", "RSAGEN_SLOTINFO_OFF_PUB_LEN", 8, u16(pubDer.length));
layout("slot-info-response", "RSAGEN_SLOTINFO_OFF_PUB_SHA256", 12, sha(0xd4));
layout("slot-info-response", "RSAGEN_SLOTINFO_OFF_NAME", 44, [...str("device"), ...pubDer]);
layout("slot-delete-response", "RSAGEN_SLOTDEL_OFF_SEQ", 0, u32(7));
layout("slot-delete-response", "RSAGEN_SLOTDEL_OFF_NAME", 4, str("device"));
layout("keep-request", "RSAGEN_KEEP_OFF_BITS", 0, u16(2048));
layout("keep-request", "RSAGEN_KEEP_OFF_EXPONENT", 4, u32(65537));
layout("keep-request", "RSAGEN_KEEP_OFF_FLAGS", 8, [1]);
layout("keep-request", "RSAGEN_KEEP_OFF_NAME", 12, str("device"));
layout("csr-request", "RSAGEN_CSR_OFF_MD", 0, [0]);
layout("csr-request", "RSAGEN_CSR_OFF_SUBJECT_LEN", 2, u16(subject.length));
layout("csr-request", "RSAGEN_CSR_OFF_NAME", 4, [...str("device"), ...Buffer.from(subject), 2, 2]);
layout("sign-request", "RSAGEN_SIGN_OFF_SCHEME", 0, [1]);
layout("sign-request", "RSAGEN_SIGN_OFF_HASH", 1, [0]);
layout("sign-request", "RSAGEN_SIGN_OFF_DIGEST", 4, digest);
layout("sign-request", "RSAGEN_SIGN_OFF_NAME", 36, str("device"));
layout("read-request-output", "RSAGEN_READ_OFF_PART", 0, [2]);
layout("error-slot-not-found", "RSAGEN_ERROR_OFF_CODE", 0, u16(11));
layout("error-not-allowed", "RSAGEN_ERROR_OFF_CODE", 0, u16(15));

msg("event-boot", 0x40, 0, { protoVersion: 1, features: 0x000b, resetReason: 1, firmwareVersion: "0.1.0", target: "esp32" }, [1, 0, ...u16(0x000b), ...u32(1), ...str("0.1.0"), ...str("esp32")]);

// ---- frames.txt ------------------------------------------------------------------------------
const out = [
  "# rsagen device protocol vectors (docs/protocol.md). Generated by generate.mjs; do not edit.",
  "# frame <name> / version V / type TT(hex) / id N / payload HEX|- / bytes HEX / end",
  "#   encoding (version,type,id,payload) must give bytes; decoding bytes must give one frame, no text.",
  "# stream <name> / bytes HEX / expect text HEX | expect frame V TT ID HEX|- ... / stats F H C T / end",
  "#   feed bytes (whole, byte by byte, and in chunks), then flush; merged text runs and frames in",
  "#   order must equal the expects; stats = frames header_errors crc_errors text_bytes ('-' = any).",
  "",
];
const pl = (p) => (p.length ? hex(p) : "-");
for (const m of messages) {
  const p = Buffer.from(m.payloadHex, "hex");
  out.push(`frame ${m.name}`, "version 1", `type ${m.type.toString(16).padStart(2, "0")}`, `id ${m.requestId}`, `payload ${pl(p)}`, `bytes ${m.frameHex}`, "end", "");
}
const extraFrames = [
  ["version2-ping", 2, 0x02, 513, [1, 2, 3]],
  ["max-id", 1, 0x82, 65535, []],
  ["max-payload", 1, 0x82, 40000, randomBytes(1024)],
  ["payload-with-sync-bytes", 1, 0x82, 300, [0xc1, 0xf5, 0x01, 0xc1, 0xc1, 0xf5, 0x0d, 0x0a]],
];
for (const [name, v, t, id, p] of extraFrames) {
  out.push(`frame ${name}`, `version ${v}`, `type ${t.toString(16).padStart(2, "0")}`, `id ${id}`, `payload ${pl(Buffer.from(p))}`, `bytes ${hex(frame(v, t, id, p))}`, "end", "");
}

/** A stream is a list of segments: {text: bytes} or {frame: {v,t,id,p}}. */
function stream(name, segments, stats) {
  const bytes = [];
  const expects = [];
  let textBytes = 0;
  let frames = 0;
  for (const s of segments) {
    if (s.text) {
      bytes.push(Buffer.from(s.text));
      textBytes += s.text.length;
      const last = expects[expects.length - 1];
      if (last?.text) last.text = Buffer.concat([last.text, Buffer.from(s.text)]);
      else expects.push({ text: Buffer.from(s.text) });
    } else {
      const f = s.frame;
      bytes.push(frame(f.v ?? 1, f.t, f.id, f.p ?? []));
      frames++;
      expects.push({ frame: f });
    }
  }
  out.push(`stream ${name}`, `bytes ${hex(Buffer.concat(bytes))}`);
  for (const e of expects) {
    if (e.text) out.push(`expect text ${hex(e.text)}`);
    else out.push(`expect frame ${e.frame.v ?? 1} ${e.frame.t.toString(16).padStart(2, "0")} ${e.frame.id} ${pl(Buffer.from(e.frame.p ?? []))}`);
  }
  const h = stats?.header ?? 0;
  const c = stats?.crc ?? 0;
  out.push(`stats ${frames} ${h} ${c} ${textBytes}`, "end", "");
}
const T = (s) => ({ text: Buffer.from(s, "binary") });
const F = (t, id, p = [], v = 1) => ({ frame: { t, id, p, v } });
const log = (s) => T(`${s}\r\n`);
const ping = (id, p = [1, 2, 3, 4]) => F(0x82, id, p);
const good = frame(1, 0x82, 77, [9, 8, 7, 6, 5]);

stream("text-only", [log("I (312) rsagen: command loop ready"), log("W (313) wdt: hello")]);
stream("empty", []);
stream("single-frame", [ping(1)]);
stream("log-frame-log", [log("I (100) main: start"), ping(2), log("I (101) main: after")]);
stream("boot-banner-then-boot-event", [
  T("\xff\x00\xf8\x80\x00ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"),
  log("I (29) boot: ESP-IDF v5.5.1 2nd stage bootloader"),
  F(0x40, 0, [1, 0, ...u16(0x000b), ...u32(1), ...str("0.1.0"), ...str("esp32")]),
]);
stream("back-to-back", [ping(3), F(0x41, 0, [...u32(7), ...u32(1500), ...u32(812), ...u16(2048), 0, 0]), ping(4, [])]);
stream("utf8-log", [log("I (5) t: temperature 21.5 \u00b0C \u2713"), ping(5)]);
stream("stray-sync0-before-frame", [T("abc\xc1"), ping(6)]);
// The false candidate C1 F5 C1 F5 01 82.. has version 0xC1 and a wrong header check: 1 header error.
stream("stray-sync0-sync1-before-frame", [T("x\xc1\xf5"), ping(7)], { header: 1 });
stream("sync0-at-end-flushed", [ping(8), T("tail\xc1")]);
stream("truncated-header-at-end", [ping(9), { text: frame(1, 0x82, 10, [1, 2, 3]).subarray(0, 6) }]);
stream("truncated-payload-at-end", [ping(9), { text: frame(1, 0x82, 10, [1, 2, 3, 4, 5, 6]).subarray(0, 12) }]);
stream("truncated-then-complete", [{ text: frame(1, 0x82, 11, [1, 2, 3, 4, 5, 6, 7, 8]).subarray(0, 12) }, ping(12), log("I (9) x: y")], { crc: 1 });
stream("bad-header-check", [{ text: frame(1, 0x82, 13, [1, 2], { hcheck: 0x00 ^ crc8([1, 0x82, 13, 0, 2, 0]) ^ 0x5a }) }, ping(14)], { header: 1 });
stream("length-too-big", [{ text: frame(1, 0x82, 15, [], { length: 1025 }) }, ping(16)], { header: 1 });
stream("version-zero", [{ text: Buffer.concat([Buffer.from([0xc1, 0xf5, 0, 0x82, 1, 0, 0, 0]), Buffer.from([crc8([0, 0x82, 1, 0, 0, 0])]), Buffer.alloc(4)]) }, ping(17)], { header: 1 });
stream("bad-crc", [{ text: frame(1, 0x82, 18, [1, 2, 3], { crc: 0x12345678 }) }, ping(19)], { crc: 1 });
stream("version-2-frame", [F(0x82, 20, [5, 5], 2), ping(21)]);
stream("max-payload-frame", [log("I (1) a: b"), F(0x86, 22, [0, 0, ...u16(1016), ...u32(0), ...randomBytes(1016)])]);
stream("payload-contains-sync", [F(0x82, 23, [0xc1, 0xf5, 1, 0xc1, 0xf5, 0xc1]), ping(24)]);
// A false candidate whose header is valid and claims 100 bytes swallows the real frame after it;
// the CRC-32 then fails, and the rescan finds the real frame inside the buffered bytes.
const falseHdr = Buffer.from([0xc1, 0xf5, 1, 0x82, 0x34, 0x12, 100, 0]);
stream("frame-hidden-in-false-candidate", [{ text: Buffer.concat([falseHdr, Buffer.from([crc8(falseHdr.subarray(2))])]) }, ping(25), log("I (77) filler: " + "z".repeat(120))], { crc: 1 });
// A single bit flip anywhere in a frame must lose that frame (as text) and nothing else.
for (const bit of [0, 9, 20, 35, 64, 71, 80, 100, good.length * 8 - 1]) {
  const bad = flip(good, bit);
  const inHeader = bit >= 16 && bit < 72;
  const inSync = bit < 16;
  stream(`bit-flip-${bit}`, [log("I (1) a: before"), { text: bad }, ping(26), log("I (2) a: after")], inSync ? {} : inHeader ? { header: 1 } : { crc: 1 });
}
// Random noise with frames between; noise has no 0xC1 so the error counts are known (0).
const noNoiseSync = (n) => Buffer.from([...randomBytes(n)].map((b) => (b === 0xc1 ? 0xc0 : b)));
stream("noise-between-frames", [{ text: noNoiseSync(200) }, ping(27), { text: noNoiseSync(57) }, ping(28, [0xc1]), { text: noNoiseSync(300) }]);
// Dense noise with sync bytes: error counts unknown, frames and text must still be exact.
function dense(n) {
  const b = randomBytes(n);
  for (let i = 0; i < n; i += 7) b[i] = 0xc1;
  for (let i = 1; i < n; i += 13) b[i] = 0xf5;
  return b;
}
{
  const segs = [{ text: dense(400) }, ping(29), { text: dense(333) }, ping(30, [...randomBytes(200)]), { text: dense(50) }];
  const before = out.length;
  stream("dense-noise-with-syncs", segs);
  out[out.length - 3] = out[out.length - 3].replace(/^stats (\d+) \d+ \d+ (\d+)$/, "stats $1 - - $2");
  if (out.length - before < 3) throw new Error("stream not written");
}

writeFileSync(join(here, "frames.txt"), out.join("\n"));
writeFileSync(
  join(here, "layouts.txt"),
  [
    "# Field offsets of docs/protocol.md section 3 as the C header must have them. Generated by generate.mjs.",
    "# layout <message vector in frames.txt> <constant, or TAIL/ENTRY0 form> <hex bytes at that offset>",
    "#   HELLO_TAIL(X): offset = payload length - RSAGEN_HELLO_TAIL_LEN + RSAGEN_HELLO_TAIL_OFF_X",
    "#   ENTRY0(X): offset = RSAGEN_SLOTLIST_FIXED_LEN + X",
    ...layouts,
    "",
  ].join("\n"),
);
writeFileSync(join(here, "messages.json"), `${JSON.stringify({ comment: "Message payload vectors: fields -> payloadHex; frameHex is the whole frame (version 1). Generated by generate.mjs.", messages }, null, 2)}\n`);
console.log(`wrote ${messages.length + extraFrames.length} frames, streams, ${messages.length} messages, ${layouts.length} layouts`);
