import { RsagenError } from "../../src/errors.js";

/** The RsagenError that fn throws; anything else thrown is rethrown, no throw at all fails the test. */
export function errorOf(fn: () => unknown): RsagenError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RsagenError) return err;
    throw err;
  }
  throw new Error("expected an error");
}

/** The RsagenError that p rejects with; anything else fails the test, and so does no rejection. */
export async function rejectionOf(p: Promise<unknown>): Promise<RsagenError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RsagenError) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}
