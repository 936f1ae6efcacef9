import type { Transport } from "../../src/serial/transport.js";

/** Collects a transport's 'data' events until `n` bytes arrived (or rejects after `ms`). */
export function readBytes(t: Pick<Transport, "on" | "off">, n: number, ms = 5000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      t.off("data", onData);
      reject(new Error(`timed out with ${got}/${n} bytes`));
    }, ms);
    const onData = (chunk: Uint8Array) => {
      parts.push(chunk);
      got += chunk.length;
      if (got >= n) {
        clearTimeout(timer);
        t.off("data", onData);
        resolve(concatAll(parts));
      }
    };
    t.on("data", onData);
  });
}

/** Same for any emitter of Uint8Array 'data' events (server, pty bridge). */
export function collect(
  e: {
    on(ev: "data", fn: (b: Uint8Array) => void): unknown;
    off(ev: "data", fn: (b: Uint8Array) => void): unknown;
  },
  n: number,
  ms = 5000,
): Promise<Uint8Array> {
  return readBytes(e as unknown as Pick<Transport, "on" | "off">, n, ms);
}

export function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Every byte value, twice, with runs of 0xFF (the IAC byte) in the middle. */
export function allBytes(): Uint8Array {
  const out = new Uint8Array(512 + 6);
  for (let i = 0; i < 256; i++) out[i] = i;
  out.set([0xff, 0xff, 0xff, 0xfa, 0xff, 0xf0], 256);
  for (let i = 0; i < 256; i++) out[262 + i] = 255 - i;
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: accepts any typed emitter (Transport, server, bridge)
export function nextEvent<T>(e: { once(ev: any, fn: any): unknown }, name: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${name}' event within ${ms} ms`)), ms);
    e.once(name, (v: T) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}
