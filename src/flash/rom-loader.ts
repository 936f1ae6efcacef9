/**
 * Client for the ESP32-family ROM serial loader (and the commands the flasher stub shares with it).
 * Frames are what esptool v5.3.0 sends: test/flash/rom-loader.test.ts replays the real ROM
 * transcripts and requires byte-identical requests. Facts: esptool v5.3.0
 * docs/en/advanced-topics/serial-protocol.rst and esptool/loader.py (ESP_CMDS, timeouts),
 * test/vectors/rom-transcripts.
 */
import { deflateSync } from "node:zlib";
import { RsagenError } from "../errors.js";
import {
  decodeResponse,
  encodeCommand,
  encodeDataBlock,
  Op,
  opName,
  RomError,
  StubError,
  SYNC_PAYLOAD,
  u32le,
} from "../rom/index.js";
import { LinkTimeout, type PacketLink } from "./link.js";

/** esptool: ROM FLASH_WRITE_SIZE. */
export const ROM_BLOCK_SIZE = 0x400;
/** Data blocks sent ahead of the last reply to the flasher stub (see flashDataPipelined). */
const PIPELINE_WINDOW = 2;
/** Flash sector: the unit the ROM erases in (FLASH_SECTOR_SIZE). */
export const SECTOR_SIZE = 0x1000;
/** esptool loader.py timeouts. */
export const DEFAULT_TIMEOUT_MS = 3000;
export const SYNC_TIMEOUT_MS = 100;
const ERASE_REGION_MS_PER_MB = 30_000;
const ERASE_WRITE_MS_PER_MB = 40_000;
const MD5_MS_PER_MB = 8_000;
/** Chip-magic register read by esptool when GET_SECURITY_INFO gives no chip id. */
export const CHIP_MAGIC_REG = 0x40001000;

/** SPI_FLASH_MD5 requests before a damaged (non-hex) ROM reply is an error. */
const MD5_TRIES = 3;

export function timeoutPerMb(msPerMb: number, bytes: number): number {
  return Math.max(DEFAULT_TIMEOUT_MS, Math.ceil((msPerMb * bytes) / 1_000_000));
}

/** The chip answered with a failure status (or an "invalid message" reply for an unknown op). */
export class RomCommandError extends Error {
  constructor(
    readonly op: number,
    readonly status: number,
    readonly error: number,
  ) {
    super(`${opName(op)} failed: status ${status}, error 0x${error.toString(16).padStart(2, "0")}`);
    this.name = "RomCommandError";
  }
  /**
   * The failure code: the ROM answers status 1 and the code after it; the flasher stubs put their
   * code (0xC0..0xFF) in the status byte and 0 after it (esptool v5.3.0 util.py
   * FatalError.WithResult: stub results 0xC000..0xFF00).
   */
  get code(): number {
    return this.status === 1 ? this.error : this.status;
  }
  /** The ROM's "invalid message" or the stub's "invalid/unimplemented command". */
  get unsupported(): boolean {
    return (
      this.code === RomError.INVALID_MESSAGE ||
      this.code === StubError.INVALID_COMMAND ||
      this.code === StubError.CMD_NOT_IMPLEMENTED
    );
  }
}

export interface SecurityInfo {
  flags: number;
  flashCryptCnt: number;
  keyPurposes: number[];
  /** Present on S3 and later (20-byte answer); absent on the S2 (12 bytes). */
  chipId?: number;
  apiVersion?: number;
}

export interface CommandOptions {
  checksum?: number;
  timeoutMs?: number;
  /** Bytes of data before the status bytes in the reply. */
  respDataLen?: number;
}

export interface RegionProgress {
  /** Bytes of the region (uncompressed) acknowledged so far. */
  written: number;
  total: number;
  /** Bytes that crossed the wire for this region so far (compressed when compressing). */
  wireBytes: number;
}

export class RomLoader {
  /** 4 status bytes from the ROM, 2 from the flasher stub. */
  statusBytes: 2 | 4 = 4;
  /** Chips whose ROM FLASH_BEGIN takes the fifth "encrypted" word (S2, S3, C3, C6). */
  flashBeginHasEncryptedWord = false;
  blockSize = ROM_BLOCK_SIZE;

  constructor(readonly link: PacketLink) {}

  get isStub(): boolean {
    return this.statusBytes === 2;
  }

  /** Sends one command and waits for the reply with the same op; checks its status. */
  async command(
    op: number,
    data: Uint8Array,
    opts: CommandOptions = {},
  ): Promise<{ value: number; data: Uint8Array }> {
    this.link.flush();
    await this.link.send(encodeCommand(op, data, opts.checksum ?? 0));
    return this.awaitReply(op, opts);
  }

  /** Waits for the next reply with this op (skipping stale ones) and checks its status. */
  private async awaitReply(
    op: number,
    opts: CommandOptions = {},
  ): Promise<{ value: number; data: Uint8Array }> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const dataLen = opts.respDataLen ?? 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new LinkTimeout(opName(op), timeoutMs);
      const packet = await this.link.read(left, opName(op));
      const r = decodeResponse(packet);
      if (!r.ok) continue;
      const resp = r.value;
      const status = resp.data[dataLen];
      const error = resp.data[dataLen + 1];
      if (resp.op !== op) {
        // An unknown command makes the ESP32 ROM answer with a failure under another op byte
        // (0x08, sent 8 times: test/vectors/rom-transcripts/esp32-chip-id.wire.json): drain them.
        if (resp.data[0] === 1 && resp.data[1] === RomError.INVALID_MESSAGE) {
          await this.drain();
          throw new RomCommandError(op, 1, RomError.INVALID_MESSAGE);
        }
        continue; // a stale reply to an earlier command
      }
      if (status === undefined || error === undefined) {
        throw new RsagenError(
          "E_FLASH_FAILED",
          `${opName(op)}: reply of ${resp.data.length} bytes has no status`,
          "the board is not speaking the ESP loader protocol; check --port",
        );
      }
      if (status !== 0) throw new RomCommandError(op, status, error);
      return { value: resp.value, data: resp.data.subarray(0, dataLen) };
    }
  }

  /** Discards replies until the line is quiet. */
  async drain(quietMs = 100): Promise<void> {
    for (;;) {
      try {
        await this.link.read(quietMs);
      } catch (err) {
        if (err instanceof LinkTimeout) return;
        throw err;
      }
    }
  }

  /**
   * One SYNC; the ROM answers 8 times, the stub once. Returns whether the replies carry val 0,
   * which means a flasher stub is already running (esptool sync_stub_detected).
   */
  async sync(): Promise<{ stubRunning: boolean }> {
    const first = await this.command(Op.SYNC, SYNC_PAYLOAD, { timeoutMs: SYNC_TIMEOUT_MS });
    let stubRunning = first.value === 0;
    for (let i = 0; i < 7; i++) {
      let packet: Uint8Array;
      try {
        packet = await this.link.read(SYNC_TIMEOUT_MS, "SYNC");
      } catch (err) {
        if (err instanceof LinkTimeout) break;
        throw err;
      }
      const r = decodeResponse(packet);
      if (r.ok && r.value.op === Op.SYNC) stubRunning &&= r.value.value === 0;
    }
    return { stubRunning };
  }

  /** GET_SECURITY_INFO, or undefined when the ROM does not know it (ESP32). */
  async securityInfo(): Promise<SecurityInfo | undefined> {
    let reply: Uint8Array;
    try {
      // Ask for the longest form; the S2's shorter answer is handled below.
      reply = (await this.commandVariableLength(Op.GET_SECURITY_INFO, new Uint8Array(0))).data;
    } catch (err) {
      if (err instanceof RomCommandError && err.unsupported) return undefined;
      throw err;
    }
    if (reply.length < 12) return undefined;
    const v = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
    const info: SecurityInfo = {
      flags: v.getUint32(0, true),
      flashCryptCnt: reply[4]!,
      keyPurposes: Array.from(reply.subarray(5, 12)),
    };
    if (reply.length >= 20) {
      info.chipId = v.getUint32(12, true);
      info.apiVersion = v.getUint32(16, true);
    }
    return info;
  }

  /** For replies whose data length varies by chip: data = everything but the status bytes. */
  private async commandVariableLength(
    op: number,
    data: Uint8Array,
  ): Promise<{ value: number; data: Uint8Array }> {
    this.link.flush();
    await this.link.send(encodeCommand(op, data));
    const deadline = Date.now() + DEFAULT_TIMEOUT_MS;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new LinkTimeout(opName(op), DEFAULT_TIMEOUT_MS);
      const r = decodeResponse(await this.link.read(left, opName(op)));
      if (!r.ok) continue;
      const resp = r.value;
      if (resp.op !== op) {
        if (resp.data[0] === 1 && resp.data[1] === RomError.INVALID_MESSAGE) {
          await this.drain();
          throw new RomCommandError(op, 1, RomError.INVALID_MESSAGE);
        }
        continue;
      }
      const n = resp.data.length - this.statusBytes;
      if (n < 0) throw new RomCommandError(op, 1, 0);
      const status = resp.data[n]!;
      if (status !== 0) throw new RomCommandError(op, status, resp.data[n + 1] ?? 0);
      return { value: resp.value, data: resp.data.subarray(0, n) };
    }
  }

  async readReg(addr: number): Promise<number> {
    return (await this.command(Op.READ_REG, u32le(addr))).value >>> 0;
  }

  /** SPI_ATTACH with the default pins; the ROM wants 4 more zero bytes (esptool flash_spi_attach). */
  async spiAttach(): Promise<void> {
    const data = this.isStub ? u32le(0) : u32le(0, 0);
    await this.command(Op.SPI_ATTACH, data);
  }

  /** SPI_SET_PARAMS: id 0, total size, 64 KiB block, 4 KiB sector, 256 B page, status mask 0xFFFF. */
  async spiSetParams(totalSize: number): Promise<void> {
    await this.command(Op.SPI_SET_PARAMS, u32le(0, totalSize, 0x10000, 0x1000, 0x100, 0xffff));
  }

  /** CHANGE_BAUDRATE [new, old]; old is 0 for the ROM and the current rate for the stub. */
  async changeBaud(newBaud: number, oldBaud: number): Promise<void> {
    await this.command(Op.CHANGE_BAUDRATE, u32le(newBaud, this.isStub ? oldBaud : 0));
  }

  private beginParams(eraseSize: number, blocks: number, offset: number): Uint8Array {
    return !this.isStub && this.flashBeginHasEncryptedWord
      ? u32le(eraseSize, blocks, this.blockSize, offset, 0)
      : u32le(eraseSize, blocks, this.blockSize, offset);
  }

  async flashBegin(size: number, offset: number): Promise<number> {
    const blocks = Math.ceil(size / this.blockSize);
    const timeoutMs = this.isStub ? DEFAULT_TIMEOUT_MS : timeoutPerMb(ERASE_REGION_MS_PER_MB, size);
    await this.command(Op.FLASH_BEGIN, this.beginParams(size, blocks, offset), { timeoutMs });
    return blocks;
  }

  async flashDeflBegin(size: number, compressedSize: number, offset: number): Promise<number> {
    const blocks = Math.ceil(compressedSize / this.blockSize);
    // The ROM erases up front and wants the size rounded up to whole blocks; the stub erases as it
    // writes and wants the exact size (esptool flash_defl_begin).
    const writeSize = this.isStub ? size : Math.ceil(size / this.blockSize) * this.blockSize;
    const timeoutMs = this.isStub ? DEFAULT_TIMEOUT_MS : timeoutPerMb(ERASE_REGION_MS_PER_MB, writeSize);
    await this.command(Op.FLASH_DEFL_BEGIN, this.beginParams(writeSize, blocks, offset), { timeoutMs });
    return blocks;
  }

  async flashData(op: number, block: Uint8Array, seq: number, timeoutMs: number): Promise<void> {
    const { data, checksum } = encodeDataBlock(seq, block);
    await this.command(op, data, { checksum, timeoutMs });
  }

  /**
   * Sends data blocks with one block in flight: block N+1 goes out before N's reply, block N+2 only
   * after it, so the line never idles for a round trip. Only for the flasher stub: it receives into
   * two buffers and acknowledges a FLASH_DATA/FLASH_DEFL_DATA as soon as it is received, writing it
   * while the next one arrives (esptool flasher_stub/stub_flasher.c: "Data is read double-buffered",
   * "ACK DATA commands immediately ... allowing next command to buffer"). The stub handles one
   * command at a time, so it replies to N+1 only after N is written: when N+2 is sent, N's buffer
   * is free. The ROM writes before it replies and has no second buffer: never pipelined.
   */
  private async flashDataPipelined(
    op: number,
    blocks: Uint8Array[],
    timeoutMs: number,
    onAck: (seq: number) => void,
  ): Promise<void> {
    this.link.flush();
    let sent = 0;
    for (let acked = 0; acked < blocks.length; acked++) {
      while (sent < blocks.length && sent - acked < PIPELINE_WINDOW) {
        const { data, checksum } = encodeDataBlock(sent, blocks[sent]!);
        await this.link.send(encodeCommand(op, data, checksum));
        sent++;
      }
      await this.awaitReply(op, { timeoutMs });
      onAck(acked);
    }
  }

  /** FLASH_END / FLASH_DEFL_END: reboot=true restarts the chip, false leaves the loader for user code. */
  async flashEnd(compressed: boolean, reboot: boolean): Promise<void> {
    await this.command(compressed ? Op.FLASH_DEFL_END : Op.FLASH_END, u32le(reboot ? 0 : 1));
  }

  /**
   * SPI_FLASH_MD5 as lowercase hex. The ROM answers 32 ASCII hex characters, the stub 16 raw
   * bytes (esptool-js 0.7.0 hex-encodes the ROM's ASCII again, so its ROM verify always fails).
   * ROM replies carry no checksum: text that is not hex was damaged on the line, and is asked for
   * again (reading a digest changes nothing).
   */
  async md5(offset: number, size: number): Promise<string> {
    const len = this.isStub ? 16 : 32;
    for (let attempt = 1; ; attempt++) {
      const r = await this.command(Op.SPI_FLASH_MD5, u32le(offset, size, 0, 0), {
        respDataLen: len,
        timeoutMs: timeoutPerMb(MD5_MS_PER_MB, size),
      });
      if (r.data.length !== len) throw new RomCommandError(Op.SPI_FLASH_MD5, 1, 0);
      if (this.isStub) return Buffer.from(r.data).toString("hex");
      const text = Buffer.from(r.data).toString("latin1").toLowerCase();
      if (/^[0-9a-f]{32}$/.test(text)) return text;
      if (attempt === MD5_TRIES) {
        throw new RsagenError(
          "E_FLASH_FAILED",
          `SPI_FLASH_MD5 reply is not a hex digest ${MD5_TRIES} times, last ${JSON.stringify(text)}`,
          "the serial line damages the chip's replies: flash again at a lower --baud or with another cable",
        );
      }
    }
  }

  /**
   * Writes `data` at `offset` as esptool write-flash does (no END: with the ROM that would leave
   * the loader). Compressed: zlib level 9 cut into blocks, the last one unpadded; otherwise blocks
   * padded with 0xFF. The caller verifies with md5() afterwards.
   */
  async writeRegion(
    offset: number,
    data: Uint8Array,
    compress: boolean,
    onProgress?: (p: RegionProgress) => void,
  ): Promise<{ wireBytes: number }> {
    const total = data.length;
    const bs = this.blockSize;
    let op: number;
    let chunks: Uint8Array[];
    let timeoutMs: number;
    if (compress) {
      const z = new Uint8Array(deflateSync(data, { level: 9 }));
      const blocks = await this.flashDeflBegin(total, z.length, offset);
      op = Op.FLASH_DEFL_DATA;
      chunks = Array.from({ length: blocks }, (_, i) => z.subarray(i * bs, (i + 1) * bs));
      // The ROM inflates and writes before it acknowledges, and the stub's reply can wait for the
      // previous block's erase + write: allow for the erase-write time of the uncompressed bytes a
      // block can expand to (esptool uses the same per-MB rate).
      timeoutMs = timeoutPerMb(ERASE_WRITE_MS_PER_MB, bs * 16);
    } else {
      const blocks = await this.flashBegin(total, offset);
      op = Op.FLASH_DATA;
      chunks = Array.from({ length: blocks }, (_, i) => padBlock(data.subarray(i * bs, (i + 1) * bs), bs));
      timeoutMs = timeoutPerMb(ERASE_WRITE_MS_PER_MB, bs);
    }
    const wireTotal = chunks.reduce((n, c) => n + c.length, 0);
    let wire = 0;
    const acked = (seq: number) => {
      wire += chunks[seq]!.length;
      // Compressed: the share of the image the wire bytes so far stand for.
      const written = compress ? Math.round((wire / wireTotal) * total) : wire;
      onProgress?.({ written: Math.min(total, written), total, wireBytes: wire });
    };
    if (this.isStub) {
      await this.flashDataPipelined(op, chunks, timeoutMs, acked);
    } else {
      for (let seq = 0; seq < chunks.length; seq++) {
        await this.flashData(op, chunks[seq]!, seq, timeoutMs);
        acked(seq);
      }
    }
    return { wireBytes: wireTotal };
  }
}

/** Uncompressed blocks are padded with 0xFF to the block size, as esptool sends them. */
function padBlock(block: Uint8Array, size: number): Uint8Array {
  if (block.length >= size) return block;
  const padded = new Uint8Array(size).fill(0xff);
  padded.set(block);
  return padded;
}
