/** Key handling: verify what the board sent, encode it, name and write the files. No terminal I/O. */
export { checkRsaNumbers, parsePkcs1Private } from "./der.js";
export {
  type EncodeOptions,
  encodePrivate,
  encodePublic,
  type KeyFileFormat,
  type PrivateKeyEncoding,
} from "./encode.js";
export { type Fingerprint, spkiFingerprint } from "./fingerprint.js";
export { defaultPrefix, type KeyFilePaths, keyFilePaths } from "./naming.js";
export { pemEncode } from "./pem.js";
export {
  PRIVATE_KEY_MODE,
  PUBLIC_KEY_MODE,
  type SavedKeyFiles,
  type SaveOptions,
  saveKeyPair,
} from "./save.js";
export { type KeyRequest, type VerifiedKeyPair, verifyKeyPair } from "./verify.js";
export { type FileToWrite, writeFilesAtomically } from "./write.js";
export { zeroize } from "./zeroize.js";
