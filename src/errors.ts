/**
 * The one error type of rsagen. Every failure a user can cause or meet carries a stable code,
 * a one-line message and a hint; the CLI maps the code to a process exit status.
 */

/** Stable error codes and their exit statuses. Documented in README.md ("Exit codes"). */
export const EXIT_CODES = {
  E_INTERNAL: 1,
  E_USAGE: 2,
  E_CONFIG: 3,
  E_NOT_IMPLEMENTED: 4,
  E_IO: 5,
  // Ports and connection
  E_NO_PORT: 10,
  E_PORT_PERMISSION: 11,
  E_PORT_LOST: 12,
  E_NO_SYNC: 13,
  E_CHIP_MISMATCH: 14,
  E_VERIFY_FAILED: 15,
  E_FLASH_FAILED: 16,
  /** Another client holds the (RFC 2217) port; the server serves one at a time. */
  E_PORT_BUSY: 17,
  // Build
  E_NO_IDF: 20,
  E_BUILD_FAILED: 21,
  E_IMAGE_TOO_LARGE: 22,
  E_BAD_IMAGE: 23,
  E_BAD_PARTITIONS: 24,
  E_NO_MANIFEST: 25,
  /** Espressif's QEMU is not installed, lacks the chip's machine, or the chip has none. */
  E_NO_QEMU: 26,
  // Device protocol and keygen
  E_DEVICE_PROTOCOL: 30,
  E_DEVICE_UNSUPPORTED: 31,
  E_DEVICE_BUSY: 32,
  E_KEYGEN_TIMEOUT: 33,
  E_KEYGEN_FAILED: 34,
  E_KEY_VERIFY_FAILED: 35,
  E_OUTPUT_EXISTS: 36,
  E_DEVICE_RESET: 37,
  E_NO_FIRMWARE: 38,
  /** An app boots and logs, but it never speaks the rsagen protocol (another project's firmware). */
  E_FOREIGN_FIRMWARE: 39,
  // Virtual board
  E_SIM: 40,
  // Key slots, CSR, signing (issue 13)
  E_SLOT_NOT_FOUND: 41,
  E_SLOT_EXISTS: 42,
  E_SLOTS_FULL: 43,
  E_NO_SLOT_STORAGE: 44,
  E_SLOT_STORAGE: 45,
  E_SIGNATURE_INVALID: 46,
  E_SIGN_FAILED: 47,
} as const;

export type ErrorCode = keyof typeof EXIT_CODES;

export class RsagenError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RsagenError";
    this.code = code;
    this.hint = hint;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }

  toJSON(): { error: { code: ErrorCode; message: string; hint?: string; exitCode: number } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.hint ? { hint: this.hint } : {}),
        exitCode: this.exitCode,
      },
    };
  }
}

/** Wraps anything thrown into an RsagenError, keeping RsagenErrors as they are. */
export function toRsagenError(err: unknown): RsagenError {
  if (err instanceof RsagenError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RsagenError(
    "E_INTERNAL",
    `unexpected error: ${message}`,
    "run again with --verbose and report it if it persists",
    { cause: err },
  );
}
