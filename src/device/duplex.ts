/**
 * The minimal byte stream DeviceClient runs over, and adapters for what rsagen has: the serial
 * Transport (src/serial/transport.ts: local port, pty, RFC 2217) and node streams (sockets, pipes,
 * a child process's stdio, used by tests and the host firmware runner).
 */
import type { Duplex, Readable, Writable } from "node:stream";
import { RsagenError } from "../errors.js";
import type { Transport } from "../serial/transport.js";

export interface ByteDuplex {
  /** Resolves once the bytes are handed to the OS. */
  write(bytes: Uint8Array): Promise<void>;
  /** Subscribes to incoming bytes; returns the unsubscribe function. */
  onData(cb: (chunk: Uint8Array) => void): () => void;
  /** Called once when the stream ends; `err` set when it was lost rather than closed. */
  onClose(cb: (err?: Error) => void): () => void;
}

export function duplexFromTransport(t: Transport): ByteDuplex {
  return {
    write: (bytes) => t.write(bytes),
    onData(cb) {
      t.on("data", cb);
      return () => t.off("data", cb);
    },
    onClose(cb) {
      const h = (lost: RsagenError | undefined) => cb(lost);
      t.on("close", h);
      return () => t.off("close", h);
    },
  };
}

/** From one duplex stream (a socket) or a readable + writable pair (child stdout + stdin). */
export function duplexFromStreams(input: Readable | Duplex, output: Writable = input as Duplex): ByteDuplex {
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (output.destroyed || output.writableEnded) {
          reject(new RsagenError("E_PORT_LOST", "the device stream is closed", "reconnect and retry"));
          return;
        }
        output.write(bytes, (err) => (err ? reject(err) : resolve()));
      }),
    onData(cb) {
      const h = (chunk: Buffer) => cb(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      input.on("data", h);
      return () => input.off("data", h);
    },
    onClose(cb) {
      let done = false;
      const fire = (err?: Error) => {
        if (done) return;
        done = true;
        cb(err);
      };
      const onEnd = () => fire();
      const onError = (err: Error) => fire(err);
      input.on("close", onEnd);
      input.on("end", onEnd);
      input.on("error", onError);
      return () => {
        input.off("close", onEnd);
        input.off("end", onEnd);
        input.off("error", onError);
      };
    },
  };
}
