/**
 * Espressif's esptool (v5.3.0 as installed; found through $ESPTOOL, PATH or /root/.local/bin/esptool,
 * skipped with a reason where absent, e.g. in CI: test/vectors/esptool-rfc2217 replays its traffic
 * there) against the virtual ESP32-C3 over RFC 2217: every command with the flasher stub and with
 * --no-stub, at 115200 and 921600 baud, the bytes checked in the board's flash; then the reset
 * variants: ?ign_set_control, --before usb-reset on the USB-Serial-JTAG circuit, --before/--after
 * no-reset, the hard reset afterwards, and a second client refused while one is connected.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openTransport } from "../../src/serial/open-transport.js";
import { type Board, type ChipState, startBoard } from "../../src/sim/index.js";
import { esptoolMissing, macString, runEsptool } from "../helpers/esptool.js";
import { ALL_COMMANDS, esptoolGroup } from "./helpers/esptool-matrix.js";

for (const stub of [true, false]) {
  for (const baud of [115200, 921600] as const) {
    esptoolGroup({ target: "esp32c3", stub, baud, commands: ALL_COMMANDS });
  }
}

const missing = esptoolMissing();
describe.skipIf(missing !== undefined)(
  `esptool resets on the virtual ESP32-C3${missing ? ` (${missing})` : ""}`,
  () => {
    let dir: string;
    let board: Board | undefined;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "rsagen-esptool-reset-"));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    afterEach(async () => {
      await board?.close();
      board = undefined;
    });

    function record(b: Board): Array<[ChipState, string | undefined]> {
      const seen: Array<[ChipState, string | undefined]> = [];
      b.on("state", (s, d) => seen.push([s, d]));
      return seen;
    }

    it("default reset, then --after hard-reset boots from flash", async () => {
      board = await startBoard({ target: "esp32c3", bootRetryMs: 60_000 });
      const seen = record(board);
      const r = await runEsptool(["--port", board.url, "chip-id"], dir);
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain("Hard resetting via RTS pin...");
      await new Promise((res) => setTimeout(res, 100));
      const kinds = seen.map(([s]) => s);
      // reset (EN low), download via the recognised sequence, then the hard reset: reset, boot.
      expect(kinds).toEqual(["reset", "download", "reset", "booting", "halted"]);
      expect(seen[1]![1]).toBe("download reset recognised");
    }, 60_000);

    it("?ign_set_control (the URL form Espressif's docs give for esp_rfc2217_server)", async () => {
      board = await startBoard({ target: "esp32c3", bootRetryMs: 60_000 });
      const r = await runEsptool(["--port", `${board.url}?ign_set_control`, "read-mac"], dir);
      expect(r.status, r.output).toBe(0);
      expect(r.output).toMatch(new RegExp(`^MAC:\\s+${macString(board.mac)}$`, "m"));
    }, 60_000);

    it("--before usb-reset on rsagen sim --usb-serial-jtag (stub and all)", async () => {
      board = await startBoard({ target: "esp32c3", resetCircuit: "usb-serial-jtag", bootRetryMs: 60_000 });
      const seen = record(board);
      const r = await runEsptool(["--port", board.url, "--before", "usb-reset", "flash-id"], dir);
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain("Stub flasher running.");
      expect(seen.map(([s]) => s).slice(0, 2)).toEqual(["reset", "download"]);
    }, 60_000);

    it("--after no-reset leaves the stub running; --before no-reset then talks to it without a reset", async () => {
      board = await startBoard({ target: "esp32c3", bootRetryMs: 60_000 });
      const first = await runEsptool(["--port", board.url, "--after", "no-reset", "chip-id"], dir);
      expect(first.status, first.output).toBe(0);
      expect(board.chipState).toBe("download");
      const seen = record(board);
      const r = await runEsptool(
        ["--port", board.url, "--before", "no-reset", "--after", "no-reset", "flash-id"],
        dir,
      );
      expect(r.status, r.output).toBe(0);
      expect(r.output).toContain("Detected flash size: 4MB");
      // No reset at all: pyserial's open (DTR, RTS asserted) and esptool's no-reset leave EN alone.
      expect(seen).toEqual([]);
      expect(board.chipState).toBe("download");
    }, 60_000);

    it("--before no-reset against a running (not downloading) chip fails to connect: no hidden reset", async () => {
      board = await startBoard({ target: "esp32c3", bootRetryMs: 60_000 });
      expect(board.chipState).toBe("halted"); // erased flash: the boot failed, the chip waits
      const seen = record(board);
      const r = await runEsptool(
        ["--port", board.url, "--before", "no-reset", "--connect-attempts", "1", "chip-id"],
        dir,
      );
      expect(r.status).toBe(2);
      expect(r.output).toMatch(/Failed to connect to Espressif device/);
      expect(seen).toEqual([]);
    }, 60_000);

    it("a second client (esptool) is refused while rsagen holds the port: 'the port is busy'", async () => {
      board = await startBoard({ target: "esp32c3", bootRetryMs: 60_000 });
      const holder = await openTransport(board.url);
      try {
        const r = await runEsptool(["--port", board.url, "chip-id"], dir);
        expect(r.status).toBe(2);
        expect(r.output).toContain(`Could not open ${board.url}, the port is busy or doesn't exist.`);
        expect(holder.isOpen).toBe(true);
      } finally {
        await holder.close();
      }
    }, 60_000);
  },
);
