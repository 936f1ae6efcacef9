// Key readback over the device protocol at a paced 115200 baud (DESIGN.md section 6: "done" to
// verified key <= 1.2x the key bytes' line time). A minimal device built from the project's own
// codec (dist/device) serves a real 4096-bit key (node:crypto) over a loopback socket pair; every
// byte in both directions is paced at baud/10 bytes per second, as a UART would carry it.
// Measured: from the DONE event to both parts read, SHA-256 checked against STATUS and the
// private key parsed and matched to the public key by node:crypto. File writing is not included.
// Needs `npm run build` first. Writes bench/results/device-readback.json.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/device/", import.meta.url);
const { DeviceClient } = await import(new URL("client.js", dist).href);
const { duplexFromStreams } = await import(new URL("duplex.js", dist).href);
const { encodeFrame, FrameDecoder, RESPONSE_FLAG } = await import(new URL("frame.js", dist).href);
const m = await import(new URL("messages.js", dist).href);

const BAUD = Number(process.env.BENCH_BAUD ?? 115200);
const BITS = Number(process.env.BENCH_BITS ?? 4096);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 4); // READs in flight per part
const bytesPerMs = BAUD / 10 / 1000;

/** Delivers each write when its last byte would have left a UART at BAUD. */
function paced(socket) {
  let free = 0;
  return (bytes) => {
    const now = performance.now();
    free = Math.max(free, now) + bytes.length / bytesPerMs;
    const copy = Buffer.from(bytes);
    return new Promise((resolve) => {
      setTimeout(() => socket.write(copy, () => resolve()), Math.max(0, free - now));
    });
  };
}

async function socketPair() {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection");
  const host = connect(server.address().port, "127.0.0.1");
  await once(host, "connect");
  const [dev] = await accepted;
  server.close();
  host.setNoDelay(true);
  dev.setNoDelay(true);
  return [host, dev];
}

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: BITS, publicExponent: 65537 });
const priv = new Uint8Array(privateKey.export({ type: "pkcs1", format: "der" }));
const pub = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
const sha = (b) => createHash("sha256").update(b).digest("hex");
const status = {
  state: "done",
  bits: BITS,
  jobId: 1,
  exponent: 65537,
  elapsedMs: 1000,
  rngCalls: 1000,
  mbedtlsError: 0,
  privLen: priv.length,
  pubLen: pub.length,
  privSha256: sha(priv),
  pubSha256: sha(pub),
};

function device(socket) {
  const send = paced(socket);
  const dec = new FrameDecoder();
  socket.on("data", (chunk) => {
    for (const f of dec.push(chunk)) {
      if (f.kind !== "frame") continue;
      const r = m.decodeRequest(f.type, f.payload);
      let payload;
      if (r.kind === "status") payload = m.encodeJobStatus(status);
      else if (r.kind === "read") {
        const src = r.part === 0 ? priv : pub;
        payload = m.encodeReadChunk({
          part: m.PARTS[r.part],
          offset: r.offset,
          data: src.subarray(r.offset, r.offset + r.length),
        });
      } else continue;
      void send(encodeFrame(f.type | RESPONSE_FLAG, f.requestId, payload));
    }
  });
  return { done: () => send(encodeFrame(m.EventType.DONE, 0, m.encodeJobStatus(status))) };
}

const lineMs = ((priv.length + pub.length) * 10 * 1000) / BAUD;
const ratios = [];
for (let run = 0; run < RUNS; run++) {
  const [hostSock, devSock] = await socketPair();
  const dev = device(devSock);
  const hostPaced = paced(hostSock);
  const io = duplexFromStreams(hostSock);
  const client = new DeviceClient({ ...io, write: hostPaced });
  const doneEvent = client.waitForEvent("done", 10_000);
  await dev.done();
  const t0 = performance.now();
  const s = (await doneEvent).status;
  const [p, q] = await Promise.all([
    client.readPart("priv", s.privLen, { window: WINDOW }),
    client.readPart("pub", s.pubLen, { window: WINDOW }),
  ]);
  if (sha(p) !== s.privSha256 || sha(q) !== s.pubSha256) throw new Error("SHA-256 mismatch");
  const key = createPrivateKey({ key: Buffer.from(p), format: "der", type: "pkcs1" });
  const spki = createPublicKey(key).export({ type: "spki", format: "der" });
  if (!Buffer.from(spki).equals(Buffer.from(q))) throw new Error("public key does not match");
  const ms = performance.now() - t0;
  ratios.push(ms / lineMs);
  client.close();
  hostSock.destroy();
  devSock.destroy();
}
ratios.sort((a, b) => a - b);
const median = ratios[Math.floor(ratios.length / 2)];
const result = {
  name: "device-readback",
  baud: BAUD,
  bits: BITS,
  keyBytes: priv.length + pub.length,
  lineTimeMs: +lineMs.toFixed(1),
  runs: RUNS,
  window: WINDOW,
  ratios: ratios.map((r) => +r.toFixed(3)),
  metrics: [
    {
      name: `readback ${BITS}-bit key / line time at ${BAUD} baud (median)`,
      value: +median.toFixed(3),
      unit: "x",
      target: "<= 1.2",
      pass: median <= 1.2,
    },
  ],
  note: "protocol readback + SHA-256 + node:crypto pair check; paced loopback device without firmware processing time; file writing not included",
};
const out = fileURLToPath(new URL("results/", import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}device-readback.json`, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result.metrics[0]), "ratios", result.ratios.join(" "));
