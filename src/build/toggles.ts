/**
 * The build toggles this product is about, their validation, and the build folder each toggle set
 * gets. One folder per target and toggle set means builds never clobber each other, and ESP-IDF's
 * rule that defaults only apply to a fresh sdkconfig never leaves a stale toggle behind.
 */
import { RsagenError } from "../errors.js";
import type { TargetName } from "../targets.js";

export interface Toggles {
  /** CONFIG_MBEDTLS_HARDWARE_MPI: use the RSA accelerator. Meaningless for --host (software bignum). */
  hwMpi: boolean;
  /** CONFIG_TOIT_CRYPTO_EXTRA: compile the keygen feature. */
  cryptoExtra: boolean;
  /** CONFIG_RSAGEN_INLINE_KEYGEN: negative control, keygen inline in the command loop. */
  inlineKeygen: boolean;
  /**
   * CONFIG_RSAGEN_KEY_SLOTS and CONFIG_RSAGEN_SLOT_CSR: keys kept on the board, CSR and signing
   * (docs/key-slots.md). Absent = on; they depend on crypto-extra, so without it they are off.
   */
  keySlots?: boolean;
  /** CONFIG_ESP_TASK_WDT_TIMEOUT_S when not the sdkconfig default (5 s); ESP-IDF builds only. */
  taskWdtS?: number | undefined;
}

/** ESP-IDF's range for CONFIG_ESP_TASK_WDT_TIMEOUT_S (components/esp_system/Kconfig, v5.5.5). */
export const TASK_WDT_RANGE_S = { min: 1, max: 60 } as const;

export const DEFAULT_TOGGLES: Toggles = { hwMpi: true, cryptoExtra: true, inlineKeygen: false };

export type BuildKind = "idf" | "host";

/** Throws E_USAGE when the toggles contradict each other. */
export function checkToggles(t: Toggles): void {
  if (
    t.taskWdtS !== undefined &&
    (!Number.isInteger(t.taskWdtS) || t.taskWdtS < TASK_WDT_RANGE_S.min || t.taskWdtS > TASK_WDT_RANGE_S.max)
  ) {
    throw new RsagenError(
      "E_USAGE",
      `--task-wdt ${t.taskWdtS}: the task watchdog timeout is whole seconds from ${TASK_WDT_RANGE_S.min} to ${TASK_WDT_RANGE_S.max}`,
      "e.g. --task-wdt 1 (ESP-IDF's smallest)",
    );
  }
  if (t.inlineKeygen && !t.cryptoExtra) {
    throw new RsagenError(
      "E_USAGE",
      "--inline-keygen needs the keygen feature, but --no-crypto-extra leaves it out",
      "drop --no-crypto-extra (or --inline-keygen)",
    );
  }
}

/** Whether the key-slot features are compiled in with these toggles. */
export function keySlotsOn(t: Toggles): boolean {
  return t.cryptoExtra && t.keySlots !== false;
}

/**
 * Folder name under the build root:
 *   ESP-IDF: <target>-<hwmpi|swmpi>-<cx|nocx>[-noslots][-inline][-wdt<s>]   e.g. esp32c3-hwmpi-cx
 *   host:    <target>-host-<cx|nocx>[-noslots][-inline]            e.g. esp32c3-host-cx
 */
export function buildFolderName(target: TargetName, t: Toggles, kind: BuildKind): string {
  const parts: string[] = [target];
  parts.push(kind === "host" ? "host" : t.hwMpi ? "hwmpi" : "swmpi");
  parts.push(t.cryptoExtra ? "cx" : "nocx");
  if (t.cryptoExtra && t.keySlots === false) parts.push("noslots");
  if (t.inlineKeygen) parts.push("inline");
  if (t.taskWdtS !== undefined) parts.push(`wdt${t.taskWdtS}`);
  return parts.join("-");
}
