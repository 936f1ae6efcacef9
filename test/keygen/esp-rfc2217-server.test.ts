/**
 * rsagen's RFC 2217 client against Espressif's own server, esp_rfc2217_server (from the esptool
 * install next to esptool; skipped with a reason where absent, e.g. in CI), in front of the virtual
 * board's console: connect, `rsagen flash`, `rsagen keygen --bits 1024`, all as the compiled CLI.
 *
 * The board's console is a pty, and esp_rfc2217_server cannot serve a pty: it asserts RTS and DTR
 * on every new client and a pty refuses the ioctl (ENOTTY), which ends the connection. It takes a
 * pyserial URL as well, though, and `socket://` ignores DTR/RTS; so a raw TCP bridge to the pty
 * (here, in the test) goes in between: rsagen -> rfc2217 -> esp_rfc2217_server -> socket:// ->
 * bridge -> pty -> board. Line changes cannot reach the board that way (a pty has no DTR/RTS; even
 * TIOCMSET on a pty master fails), so the chip is put into download mode through the board's own
 * RFC 2217 server first, `rsagen flash` runs with --before no-reset --after no-reset, and the app is
 * started through the board's server again. The address is given as
 * rfc2217://host:port?ign_set_control, as esp_rfc2217_server prints it: it never answers DTR/RTS
 * commands.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostBuild } from "../../src/build/host-build.js";
import { openTransport } from "../../src/serial/open-transport.js";
import type { Transport } from "../../src/serial/transport.js";
import { type Board, startBoard } from "../../src/sim/index.js";
import { esptool } from "../helpers/esptool.js";
import { CLI, jsonLines, REPO_ROOT } from "../helpers/run-cli.js";
import { tempDir } from "./sim-fixture.js";

const server = esptool().rfc2217Server;
const missing = server ? undefined : `esp_rfc2217_server not found next to esptool (${esptool().version})`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A raw TCP server that passes bytes to and from the board's console pty (one client). */
async function ptyBridge(ptyPath: string): Promise<{ port: number; close: () => Promise<void> }> {
  const tty: Transport = await openTransport(ptyPath);
  let client: net.Socket | undefined;
  tty.on("data", (b) => client?.write(b));
  const srv = net.createServer((s) => {
    client?.destroy();
    client = s;
    s.on("data", (b: Buffer) => void tty.write(b).catch(() => undefined));
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: async () => {
      client?.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
      await tty.close();
    },
  };
}

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.ESPPORT;
  delete env.ESPBAUD;
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((res) => child.on("exit", (status) => res({ status, stdout, stderr })));
}

/** The chip's reset lines, driven through the board's own RFC 2217 server (not the chain). */
async function resetBoard(board: Board, download: boolean): Promise<void> {
  const t = await openTransport(board.url);
  try {
    await t.setSignals({ dtr: false, rts: true });
    await sleep(100);
    await t.setSignals({ dtr: download, rts: false });
    await sleep(50);
    await t.setSignals({ dtr: false, rts: false });
  } finally {
    await t.close();
  }
}

describe.skipIf(missing !== undefined)(
  `rsagen through esp_rfc2217_server${missing ? ` (skipped: ${missing})` : ""}`,
  () => {
    let work: { dir: string; remove: () => void } | undefined;
    let buildDir: string;
    let board: Board;
    let bridge: { port: number; close: () => Promise<void> };
    let espServer: ChildProcess;
    let serverLog = "";
    let url: string;

    beforeAll(async () => {
      work = tempDir("rsagen-esp-rfc2217-");
      const r = await hostBuild({
        projectRoot: REPO_ROOT,
        buildRoot: join(work.dir, "build"),
        target: "esp32c3",
        toggles: { hwMpi: true, cryptoExtra: true, inlineKeygen: false },
        version: "0.1.0",
      });
      buildDir = r.dir;
      board = await startBoard({ target: "esp32c3", pty: true, bootRetryMs: 60_000 });
      bridge = await ptyBridge(board.ptyPath!);
      const port = await freePort();
      espServer = spawn(server!, ["-p", String(port), `socket://127.0.0.1:${bridge.port}`], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      espServer.stdout!.on("data", (d: Buffer) => {
        serverLog += d.toString();
      });
      espServer.stderr!.on("data", (d: Buffer) => {
        serverLog += d.toString();
      });
      for (let i = 0; i < 100 && !/Waiting for connection/.test(serverLog); i++) await sleep(50);
      expect(serverLog).toMatch(/Waiting for connection/);
      url = `rfc2217://127.0.0.1:${port}?ign_set_control`;
    }, 300_000);

    afterAll(async () => {
      if (espServer && espServer.exitCode === null) {
        const exited = new Promise((r) => espServer.once("exit", r));
        espServer.kill("SIGINT");
        await Promise.race([exited, sleep(3000)]);
        if (espServer.exitCode === null) espServer.kill("SIGKILL");
      }
      await bridge?.close();
      await board?.close();
      work?.remove();
    });

    it("connects: negotiation, line commands unanswered but kept, baud change answered", async () => {
      const t = await openTransport(url, { ackTimeoutMs: 2000 });
      try {
        expect(t.isOpen).toBe(true);
        expect(t.capabilities.hasResetLines).toBe(true); // kept: esp_rfc2217_server acts on lines
        await t.setBaud(460800); // answered by pyserial's PortManager
        expect(t.baud).toBe(460800);
      } finally {
        await t.close();
      }
      expect(serverLog).toMatch(/Connected by 127\.0\.0\.1/);
    }, 30_000);

    it("rsagen flash --before no-reset --after no-reset writes the build (MD5-verified by the loader)", async () => {
      await resetBoard(board, true);
      expect(board.chipState).toBe("download");
      const r = await cli([
        "--json",
        "--port",
        url,
        "flash",
        "--build-dir",
        buildDir,
        "--before",
        "no-reset",
        "--after",
        "no-reset",
      ]);
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      const lines = jsonLines(r.stdout);
      const result = lines.find((l) => "result" in l)?.result as {
        regions: Array<{ offset: number; size: number; md5: string }>;
      };
      expect(result.regions.length).toBeGreaterThanOrEqual(3);
      // The bytes are in the board's flash.
      const { createHash } = await import("node:crypto");
      for (const reg of result.regions) {
        const md5 = createHash("md5").update(board.flash.read(reg.offset, reg.size)!).digest("hex");
        expect(md5).toBe(reg.md5);
      }
    }, 120_000);

    it("a second client is not refused but queued by esp_rfc2217_server: rsagen gives up with E_NO_PORT and a hint saying so", async () => {
      const holder = await openTransport(url);
      try {
        const r = await cli(["--json", "--port", url, "info"]);
        expect(r.status).toBe(10);
        const err = jsonLines(r.stdout).find((l) => "error" in l)?.error as { code: string; hint: string };
        expect(err.code).toBe("E_NO_PORT");
        expect(err.hint).toMatch(/esp_rfc2217_server queues a second client/);
      } finally {
        await holder.close();
      }
    }, 30_000);

    it("rsagen keygen --bits 1024 through esp_rfc2217_server writes a verified key", async () => {
      await resetBoard(board, false); // boot the app just flashed
      for (let i = 0; i < 200 && board.chipState !== "app"; i++) await sleep(25);
      expect(board.chipState).toBe("app");
      await sleep(300);
      const out = tempDir("rsagen-esp-rfc2217-key-");
      try {
        const r = await cli(["--json", "--port", url, "keygen", "--bits", "1024", "--out", out.dir]);
        expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
        const lines = jsonLines(r.stdout);
        expect(lines.some((l) => l.event === "generated")).toBe(true);
        expect(lines.some((l) => "error" in l)).toBe(false);
        expect(readdirSync(out.dir).length).toBeGreaterThan(0);
      } finally {
        out.remove();
      }
    }, 120_000);
  },
);
