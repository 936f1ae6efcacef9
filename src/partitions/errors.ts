import { RsagenError } from "../errors.js";

const HINT =
  "check the partition table against https://docs.espressif.com/projects/esp-idf/en/stable/esp32/api-guides/partition-tables.html";

/** The one way this module reports bad partition input. */
export function partitionError(message: string, hint: string = HINT): RsagenError {
  return new RsagenError("E_BAD_PARTITIONS", message, hint);
}
