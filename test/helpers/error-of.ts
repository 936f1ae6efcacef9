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
