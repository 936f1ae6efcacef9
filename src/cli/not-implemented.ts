import { RsagenError } from "../errors.js";

/** The answer of a command whose work lands in a later issue. */
export function notImplemented(what: string): never {
  throw new RsagenError(
    "E_NOT_IMPLEMENTED",
    `${what} is not implemented yet`,
    "track progress in the project's issues",
  );
}
