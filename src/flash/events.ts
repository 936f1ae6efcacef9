/** Progress events of a flash session (rendered by src/cli/flash.ts, one JSON line each under --json). */
import type { TargetName } from "../targets.js";

export type FlashEvent =
  | { event: "port"; path: string; how: "given" | "detected"; usb?: { vid: number; pid: number } }
  | { event: "connecting"; attempt: number; attempts: number; reset: string }
  | { event: "warning"; message: string }
  | { event: "connected"; port: string; reset: string; chip: TargetName; secureDownloadMode: boolean }
  | { event: "loader"; loader: "rom" | "stub"; baud: number }
  | { event: "erase"; what: "all" }
  | { event: "region-skip"; name: string; offset: number; size: number; md5: string }
  | { event: "region-start"; name: string; offset: number; size: number }
  | {
      event: "progress";
      name: string;
      offset: number;
      written: number;
      total: number;
      percent: number;
      kbitPerSec: number;
    }
  | {
      event: "region-done";
      name: string;
      skipped: boolean;
      offset: number;
      size: number;
      wireBytes: number;
      seconds: number;
      kbitPerSec: number;
      md5: string;
    }
  | { event: "reset"; how: string };
