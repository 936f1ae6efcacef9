/**
 * PEM (RFC 7468) built straight into a Buffer. Buffer#toString("base64") would leave an immutable
 * string copy of a private key on the JS heap; this encoder never makes one, so zeroize() can wipe
 * every copy we own.
 */
const ALPHABET = Buffer.from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", "latin1");
const PAD = 0x3d; // '='
const NL = 0x0a;
/** RFC 7468 section 2: generators MUST wrap base64 lines at 64 characters. */
const LINE = 64;

export type PemLabel = "RSA PRIVATE KEY" | "PRIVATE KEY" | "PUBLIC KEY" | "CERTIFICATE REQUEST";

export function pemEncode(label: PemLabel, der: Uint8Array): Buffer {
  const head = Buffer.from(`-----BEGIN ${label}-----\n`, "latin1");
  const tail = Buffer.from(`-----END ${label}-----\n`, "latin1");
  const b64Len = Math.ceil(der.length / 3) * 4;
  const lines = Math.ceil(b64Len / LINE);
  const out = Buffer.alloc(head.length + b64Len + lines + tail.length);
  let o = head.copy(out, 0);
  let col = 0;
  const put = (c: number) => {
    out[o++] = c;
    if (++col === LINE) {
      out[o++] = NL;
      col = 0;
    }
  };
  for (let i = 0; i < der.length; i += 3) {
    const a = der[i]!;
    const b = i + 1 < der.length ? der[i + 1]! : 0;
    const c = i + 2 < der.length ? der[i + 2]! : 0;
    put(ALPHABET[a >> 2]!);
    put(ALPHABET[((a & 3) << 4) | (b >> 4)]!);
    put(i + 1 < der.length ? ALPHABET[((b & 15) << 2) | (c >> 6)]! : PAD);
    put(i + 2 < der.length ? ALPHABET[c & 63]! : PAD);
  }
  if (col !== 0) out[o++] = NL;
  o += tail.copy(out, o);
  return out.subarray(0, o);
}
