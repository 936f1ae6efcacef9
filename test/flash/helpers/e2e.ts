/** Shared set-up of the end-to-end flash tests against the virtual board. */
import { afterEach } from "vitest";
import type { FlashOptions } from "../../../src/flash/session.js";

/**
 * rsagen flash's defaults on a board with the auto-reset circuit, except that the chip stays in
 * its loader afterwards (no reset), so a test can read the flash back or flash again. Tests that
 * call flashBoard add the stub path themselves (runFlash loads it on its own).
 */
export const E2E_FLASH_OPTIONS: Omit<FlashOptions, "stubPath"> = {
  before: "default-reset",
  after: "no-reset",
  stub: true,
  skip: true,
  eraseAll: false,
  force: false,
};

/** An array whose items (boards, transports) are closed after each test, last opened first. */
export function closedAfterEach<T extends { close(): Promise<unknown> }>(): T[] {
  const open: T[] = [];
  afterEach(async () => {
    for (const x of open.splice(0).reverse()) await x.close().catch(() => {});
  });
  return open;
}
