/**
 * Espressif's esptool against the virtual board over RFC 2217, one command per `it`, with the bytes
 * checked on both sides: what esptool reports and reads back, and what is in the board's flash
 * (its MemoryFlash and the flash file on disk). A group is one board (one target, stub or ROM, one
 * baud); commands run in order and build on each other (write, verify, read back, erase).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Board, startBoard } from "../../../src/sim/index.js";
import { TARGETS, type TargetName } from "../../../src/targets.js";
import { esptoolMissing, macString, runEsptool } from "../../helpers/esptool.js";

export type Command =
  | "chip-id"
  | "flash-id"
  | "read-mac"
  | "write-flash"
  | "write-flash -u"
  | "verify-flash"
  | "read-flash"
  | "erase-region"
  | "erase-flash";

export const ALL_COMMANDS: Command[] = [
  "chip-id",
  "flash-id",
  "read-mac",
  "write-flash",
  "write-flash -u",
  "verify-flash",
  "read-flash",
  "erase-region",
  "erase-flash",
];

export interface Group {
  target: TargetName;
  stub: boolean;
  baud: 115200 | 921600;
  commands: Command[];
}

/** 24 KiB: 12 KiB random (does not compress), 12 KiB of one byte (compresses to almost nothing). */
function image(): Uint8Array {
  const img = new Uint8Array(24 * 1024).fill(0x5a);
  img.set(randomBytes(12 * 1024), 0);
  return img;
}

const COMPRESSED_AT = 0x10000;
const RAW_AT = 0x20000;
const ERASE_LEN = 0x8000;

export function esptoolGroup(g: Group): void {
  const name = `${g.target}, ${g.stub ? "stub" : "--no-stub (ROM)"}, -b ${g.baud}`;
  const missing = esptoolMissing();
  describe.skipIf(missing !== undefined)(`esptool on ${name}${missing ? ` (${missing})` : ""}`, () => {
    let dir: string;
    let board: Board;
    let flashFile: string;
    const img = image();
    const size = TARGETS[g.target].defaultFlashSize;
    const onDisk = (addr: number, len: number) => readFileSync(flashFile).subarray(addr, addr + len);
    const inFlash = (addr: number, len: number) => Buffer.from(board.flash.read(addr, len)!);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), "rsagen-esptool-"));
      writeFileSync(join(dir, "img.bin"), img);
      flashFile = join(dir, "flash.bin");
      board = await startBoard({ target: g.target, flashFile, bootRetryMs: 60_000 });
    });
    afterAll(async () => {
      await board?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    async function esptool(...args: string[]) {
      const pre = ["--port", board.url, "-b", String(g.baud), ...(g.stub ? [] : ["--no-stub"])];
      const r = await runEsptool([...pre, ...args], dir);
      const stubLine = /Stub flasher running/.test(r.output);
      return { ...r, stubLine };
    }

    const checks: Record<Command, () => Promise<void>> = {
      "chip-id": async () => {
        const r = await esptool("chip-id");
        expect(r.status, r.output).toBe(0);
        expect(r.output).toMatch(new RegExp(`Chip type:\\s+${TARGETS[g.target].displayName}[- ]`));
        expect(r.output).toContain(macString(board.mac));
        expect(r.stubLine).toBe(g.stub);
        if (g.baud !== 115200) expect(r.output).toContain(`Changing baud rate to ${g.baud}`);
      },
      "flash-id": async () => {
        const r = await esptool("flash-id");
        expect(r.status, r.output).toBe(0);
        // The board's flash answers RDID as GigaDevice c8 40 <log2 size>.
        expect(r.output).toMatch(/Manufacturer: c8\n/);
        expect(r.output).toMatch(new RegExp(`Device: 40${Math.log2(size).toString(16)}\\n`));
        expect(r.output).toMatch(new RegExp(`Detected flash size: ${size / 1024 / 1024}MB\\n`));
      },
      "read-mac": async () => {
        const r = await esptool("read-mac");
        expect(r.status, r.output).toBe(0);
        expect(r.output).toMatch(new RegExp(`^MAC:\\s+${macString(board.mac)}$`, "m"));
      },
      "write-flash": async () => {
        const r = await esptool("write-flash", `0x${COMPRESSED_AT.toString(16)}`, "img.bin");
        expect(r.status, r.output).toBe(0);
        // esptool compresses with the stub; to the ROM it sends plain blocks unless told --compress.
        expect(r.output).toMatch(
          g.stub ? /Wrote 24576 bytes \(\d+ compressed\) at 0x00010000/ : /Wrote 24576 bytes at 0x00010000/,
        );
        expect(r.output).toContain("Hash of data verified.");
        expect(inFlash(COMPRESSED_AT, img.length)).toEqual(Buffer.from(img));
        expect(onDisk(COMPRESSED_AT, img.length)).toEqual(Buffer.from(img));
        expect(inFlash(COMPRESSED_AT + img.length, 16)).toEqual(Buffer.alloc(16, 0xff));
      },
      "write-flash -u": async () => {
        const r = await esptool("write-flash", "-u", `0x${RAW_AT.toString(16)}`, "img.bin");
        expect(r.status, r.output).toBe(0);
        expect(r.output).toMatch(/Wrote 24576 bytes at 0x00020000/);
        expect(inFlash(RAW_AT, img.length)).toEqual(Buffer.from(img));
        expect(onDisk(RAW_AT, img.length)).toEqual(Buffer.from(img));
      },
      "verify-flash": async () => {
        // Needs write-flash before it: the image at 0x10000.
        const ok = await esptool("verify-flash", `0x${COMPRESSED_AT.toString(16)}`, "img.bin");
        expect(ok.status, ok.output).toBe(0);
        expect(ok.output).toContain("Verification successful (digest matched).");
        // One bit cleared in the board's flash (in the 0x5a half): verify must now fail.
        const at = COMPRESSED_AT + 20_000;
        board.flash.program(at, Uint8Array.of(0x58));
        expect(onDisk(at, 1)[0]).toBe(0x58);
        const bad = await esptool("verify-flash", `0x${COMPRESSED_AT.toString(16)}`, "img.bin");
        expect(bad.status).not.toBe(0);
        expect(bad.output).toMatch(/Verification failed|digest mismatch/i);
        // Restore for the next commands: erase that sector and write the image again through the board.
        board.flash.erase(COMPRESSED_AT, img.length);
        board.flash.program(COMPRESSED_AT, img);
      },
      "read-flash": async () => {
        const r = await esptool(
          "read-flash",
          `0x${COMPRESSED_AT.toString(16)}`,
          String(img.length),
          "back.bin",
        );
        expect(r.status, r.output).toBe(0);
        const back = readFileSync(join(dir, "back.bin"));
        expect(back).toEqual(inFlash(COMPRESSED_AT, img.length));
        expect(back).toEqual(Buffer.from(img));
      },
      "erase-region": async () => {
        const r = await esptool("erase-region", `0x${RAW_AT.toString(16)}`, `0x${ERASE_LEN.toString(16)}`);
        expect(r.status, r.output).toBe(0);
        expect(inFlash(RAW_AT, ERASE_LEN)).toEqual(Buffer.alloc(ERASE_LEN, 0xff));
        expect(onDisk(RAW_AT, ERASE_LEN)).toEqual(Buffer.alloc(ERASE_LEN, 0xff));
        // Its neighbours are untouched.
        expect(inFlash(COMPRESSED_AT, img.length)).toEqual(Buffer.from(img));
      },
      "erase-flash": async () => {
        const r = await esptool("erase-flash");
        if (!g.stub) {
          // esptool itself refuses: the ROM loader has no whole-chip erase (cmds.py erase_flash).
          expect(r.status).toBe(2);
          expect(r.output).toContain(
            `${TARGETS[g.target].displayName} ROM does not support function erase_flash`,
          );
          expect(inFlash(COMPRESSED_AT, img.length)).toEqual(Buffer.from(img));
          return;
        }
        expect(r.status, r.output).toBe(0);
        expect(r.output).toContain("Flash memory erased successfully");
        const all = readFileSync(flashFile);
        expect(all.length).toBe(size);
        expect(all.every((x) => x === 0xff)).toBe(true);
        expect(inFlash(0, size).every((x) => x === 0xff)).toBe(true);
      },
    };

    for (const c of g.commands) {
      it(`${c}`, () => checks[c](), 120_000);
    }
  });
}
