/** From a verified pair to files on disk: encode, name, write atomically, wipe the private bytes. */
import { type EncodeOptions, encodePrivate, encodePublic } from "./encode.js";
import { keyFilePaths } from "./naming.js";
import type { VerifiedKeyPair } from "./verify.js";
import { type FileToWrite, writeFilesAtomically } from "./write.js";
import { zeroize } from "./zeroize.js";

export interface SaveOptions extends EncodeOptions {
  out: string;
  prefix: string | undefined;
  publicOnly: boolean;
  force: boolean;
  cwd?: string;
}

export interface SavedKeyFiles {
  privatePath?: string;
  publicPath: string;
}

export const PRIVATE_KEY_MODE = 0o600;
export const PUBLIC_KEY_MODE = 0o644;

export async function saveKeyPair(pair: VerifiedKeyPair, opts: SaveOptions): Promise<SavedKeyFiles> {
  const paths = keyFilePaths({
    out: opts.out,
    prefix: opts.prefix,
    bits: pair.bits,
    fingerprintHex: pair.fingerprint.sha256Hex,
    format: opts.format,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  const files: FileToWrite[] = [];
  let privateBytes: Buffer | undefined;
  try {
    if (!opts.publicOnly) {
      privateBytes = encodePrivate(pair, opts);
      files.push({ path: paths.privatePath, data: privateBytes, mode: PRIVATE_KEY_MODE });
    }
    files.push({ path: paths.publicPath, data: encodePublic(pair, opts), mode: PUBLIC_KEY_MODE });
    await writeFilesAtomically(files, { force: opts.force });
  } finally {
    zeroize(privateBytes);
  }
  return opts.publicOnly
    ? { publicPath: paths.publicPath }
    : { privatePath: paths.privatePath, publicPath: paths.publicPath };
}
