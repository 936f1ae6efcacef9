/**
 * zod schemas for every CLI option and the config file. Commands validate their raw commander
 * options here, so a bad value gives the same E_USAGE error and hint wherever it is typed.
 */
import { z } from "zod";
import { RsagenError } from "../errors.js";
import { TARGET_NAMES } from "../targets.js";

export const targetSchema = z.enum(TARGET_NAMES, {
  error: (issue) => `unknown target '${String(issue.input)}'`,
});

const intFromString = (what: string) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n =
      typeof v === "number" ? v : /^(0x[0-9a-f]+|\d+)$/i.test(v.trim()) ? Number(v.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n)) {
      ctx.addIssue({ code: "custom", message: `${what} must be an integer, got '${v}'` });
      return z.NEVER;
    }
    return n;
  });

/** RSA modulus sizes: mbedtls >= 3.5 refuses < 1024; 4096 keeps DER under the frame limits and the
 * keygen time bounded. Multiples of 8 keep the modulus byte-aligned (PKCS#1 octet strings). */
export const MIN_BITS = 1024;
export const MAX_BITS = 4096;
export const bitsSchema = intFromString("--bits").pipe(
  z
    .number()
    .min(MIN_BITS, { error: `bits must be between ${MIN_BITS} and ${MAX_BITS}` })
    .max(MAX_BITS, { error: `bits must be between ${MIN_BITS} and ${MAX_BITS}` })
    .refine((n) => n % 8 === 0, { error: "bits must be a multiple of 8" }),
);

/** Public exponent: odd, >= 3, fits in 32 bits (mbedtls_rsa_gen_key takes an int). */
export const exponentSchema = intFromString("--exponent").pipe(
  z
    .number()
    .min(3, { error: "exponent must be at least 3" })
    .max(0x7fffffff, { error: "exponent must fit in a signed 32-bit int" })
    .refine((n) => n % 2 === 1, { error: "exponent must be odd" }),
);

/** Serial baud: esptool accepts any rate the bridge can do; bound it to sane UART rates. */
export const baudSchema = intFromString("--baud").pipe(
  z
    .number()
    .min(1200, { error: "baud must be between 1200 and 5000000" })
    .max(5_000_000, { error: "baud must be between 1200 and 5000000" }),
);

export const portSchema = z
  .string()
  .trim()
  .min(1, { error: "port must not be empty" })
  .refine((p) => !p.startsWith("rfc2217://") || /^rfc2217:\/\/[^:/]+:\d{1,5}(\?.*)?$/.test(p), {
    error: "an RFC 2217 port looks like rfc2217://host:port",
  });

export const timeoutSchema = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(v).trim());
    if (!m) {
      ctx.addIssue({ code: "custom", message: `timeout must look like 90, 90s, 1500ms or 5m, got '${v}'` });
      return z.NEVER;
    }
    const n = Number(m[1]);
    const unit = m[2] ?? "s";
    return Math.round(unit === "ms" ? n : unit === "m" ? n * 60_000 : n * 1000);
  })
  .pipe(z.number().min(100, { error: "timeout must be at least 100ms" }));

export const hostPortSchema = z
  .string()
  .regex(/^[^:]+:\d{1,5}$/, { error: "expected HOST:PORT, e.g. 127.0.0.1:4000" });

/** rsagen.config.json: everything optional; unknown keys are an error (typos must not pass silently). */
export const configFileSchema = z.strictObject({
  port: portSchema.optional(),
  baud: baudSchema.optional(),
  target: targetSchema.optional(),
  buildDir: z.string().optional(),
  docker: z.string().optional(),
  keygen: z
    .strictObject({
      bits: bitsSchema.optional(),
      exponent: exponentSchema.optional(),
      format: z.enum(["pem", "der"]).optional(),
      out: z.string().optional(),
      timeout: timeoutSchema.optional(),
    })
    .optional(),
});
export type ConfigFile = z.infer<typeof configFileSchema>;

/** Parses `value` with `schema`, turning the first zod issue into a one-line E_USAGE error. */
export function parseOption<T extends z.ZodType>(
  schema: T,
  value: unknown,
  flag: string,
  hint?: string,
): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const msg = issue?.message ?? "invalid value";
  throw new RsagenError("E_USAGE", `${flag}: ${msg}`, hint ?? defaultHint(flag));
}

function defaultHint(flag: string): string {
  switch (flag) {
    case "--target":
      return `use one of: ${TARGET_NAMES.join(", ")}`;
    case "--bits":
      return `use a multiple of 8 from ${MIN_BITS} to ${MAX_BITS}, e.g. --bits 2048`;
    case "--baud":
      return "common rates: 115200, 460800, 921600";
    case "--exponent":
      return "the usual public exponent is 65537";
    case "--port":
      return "give a serial device (/dev/ttyUSB0) or rfc2217://host:port";
    default:
      return "see --help";
  }
}
