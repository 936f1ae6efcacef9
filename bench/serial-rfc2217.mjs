// RFC 2217 transport throughput on loopback (src/serial): the client (rsagen's Transport) sends
// random bytes (about 1/256 are 0xFF and get doubled) to the RFC 2217 server the virtual board
// uses, unpaced, then the other direction; and the server's pacing accuracy at 921600 baud
// (target: within 5% of baud/10 bytes per second). Needs `npm run build` first.
// Writes bench/results/serial-rfc2217.json.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/serial/", import.meta.url);
const { Rfc2217Server } = await import(new URL("rfc2217-server.js", dist).href);
const { openTransport } = await import(new URL("transport.js", dist).href);

const SIZE = Number(process.env.BENCH_BYTES ?? 16 * 1024 * 1024);
const PACED_BAUD = 921600;
const PACED_BYTES = 184320; // 2 s at 921600 baud

function until(emitter, n) {
  return new Promise((resolve) => {
    let got = 0;
    const on = (chunk) => {
      got += chunk.length;
      if (got >= n) {
        emitter.off("data", on);
        resolve();
      }
    };
    emitter.on("data", on);
  });
}

const server = await Rfc2217Server.listen();
const client = await openTransport(server.url, { baud: 115200 });
const data = new Uint8Array(randomBytes(SIZE));

let done = until(server, SIZE);
let t0 = performance.now();
for (let o = 0; o < SIZE; o += 65536) await client.write(data.subarray(o, o + 65536));
await done;
const upMBs = SIZE / 1e6 / ((performance.now() - t0) / 1000);

done = until(client, SIZE);
t0 = performance.now();
for (let o = 0; o < SIZE; o += 65536) await server.write(data.subarray(o, o + 65536));
await done;
const downMBs = SIZE / 1e6 / ((performance.now() - t0) / 1000);
await client.close();
await server.close();

const paced = await Rfc2217Server.listen({ pacing: true });
const pc = await openTransport(paced.url, { baud: PACED_BAUD });
done = until(pc, PACED_BYTES);
t0 = performance.now();
await paced.write(new Uint8Array(PACED_BYTES));
await done;
const pacedRate = PACED_BYTES / ((performance.now() - t0) / 1000);
const pacedRatio = pacedRate / (PACED_BAUD / 10);
await pc.close();
await paced.close();

const result = {
  name: "serial-rfc2217",
  bytes: SIZE,
  metrics: [
    { name: "client->server throughput (unpaced)", value: +upMBs.toFixed(1), unit: "MB/s" },
    { name: "server->client throughput (unpaced)", value: +downMBs.toFixed(1), unit: "MB/s" },
    {
      name: `paced rate / (baud/10) at ${PACED_BAUD} baud`,
      value: +pacedRatio.toFixed(3),
      unit: "ratio",
      target: "0.95..1.05",
      pass: pacedRatio >= 0.95 && pacedRatio <= 1.05,
    },
  ],
};
const out = fileURLToPath(new URL("results/", import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}serial-rfc2217.json`, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result.metrics));
