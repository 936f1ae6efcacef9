/**
 * Overwrites buffers that held private key bytes. JavaScript strings cannot be wiped, so private
 * key material in rsagen only ever lives in Buffers (PEM is built into a Buffer, see pem.ts).
 * Copies inside OpenSSL's KeyObjects are outside our reach; they are freed with the KeyObject.
 */
export function zeroize(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}
