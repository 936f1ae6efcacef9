/**
 * The download-mode loader of the virtual chip as a pure state machine: SLIP bytes in, actions out
 * (bytes to send, baud changes, resets). It answers first as the mask ROM of the target and, once
 * a flasher stub has been uploaded and started (MEM_END with an entry point), as esptool's flasher
 * stub: the board cannot execute the uploaded code, so it recognises the upload and then behaves
 * the way that stub does on the wire.
 *
 * Facts: esptool serial-protocol.rst and loader.py (opcodes, status bytes, error codes), the flasher
 * stub's stub_flasher.h/stub_commands (2-byte status, raw MD5, READ_FLASH with acks, erase on the
 * fly), and the real-ROM transcripts in test/vectors/rom-transcripts (exact replies, including the
 * `value` field quirks reproduced below). Deliberate differences are listed in docs/virtual-board.md.
 */
import { createHash } from "node:crypto";
import { inflateSync, constants as zc } from "node:zlib";
import {
  decodeCommand,
  encodeResponse,
  Op,
  type RomCommand,
  RomError,
  romChecksum,
  SlipDecoder,
  StubError,
  slipEncode,
  u32le,
  words,
} from "../rom/index.js";
import type { TargetInfo } from "../targets.js";
import type { FlashBackend, FlashWriteResult } from "./flash.js";
import { RegisterFile } from "./registers.js";

export type LoaderAction =
  | { kind: "send"; bytes: Uint8Array }
  /** Switch the chip's UART to a new baud rate (after the preceding bytes went out). */
  | { kind: "set-baud"; baud: number }
  /**
   * Leave download mode and reset: the chip restarts and samples its boot mode again. "system":
   * the ROM's FLASH_END reboot (rst:0x3, e.g. RTC_SW_SYS_RST); "software": a CPU reset (rst:0xc).
   */
  | { kind: "reboot"; reset: "system" | "software" }
  /** A flash operation hung: the chip stops answering until it is reset. */
  | { kind: "hang"; reason: string };

export interface LoaderOptions {
  target: TargetInfo;
  flash: FlashBackend;
  /** Factory MAC in eFuse (6 bytes). All zeros = blank eFuses, as under QEMU. */
  mac: Uint8Array;
  /**
   * "qemu": reproduce the blank-eFuse values of Espressif's QEMU exactly (used to replay the real
   * ROM transcripts); "board": values of a fresh dev board (no QEMU artefacts).
   */
  efuseProfile?: "qemu" | "board";
}

/** Handlers return this so `return this.reply(...)` reads as "answered". */
type Handled = true;
const HANDLED: Handled = true;

const SYNC_MAGIC_VALUE = 0x20120707; // first word of the SYNC payload, echoed as `value` by the ROMs
const ROM_STATUS_LEN = 4; // ESP32-family ROMs: status, error, 0, 0
const ROM_SYNC_REPLIES = 8; // both ROMs answer one SYNC with 8 identical replies (transcripts @1..8)
const ROM_WRITE_BLOCK = 0x400;
/** READ_FLASH_SLOW returns one 64-byte block per command (esptool targets/esp32.py BLOCK_LEN). */
const ROM_SLOW_READ_BLOCK = 64;

interface WriteSession {
  compressed: boolean;
  offset: number;
  /** Bytes to be written (stub: exact size; ROM: erase size). */
  total: number;
  written: number;
  /** Compressed stream collected so far (deflate sessions). */
  zdata: Uint8Array[];
  zlen: number;
  /** Sectors already erased by the stub (erase on the fly). */
  erasedUpTo: number;
  blockSize: number;
}

interface MemSession {
  offset: number;
  size: number;
  received: number;
}

interface ReadSession {
  addr: number;
  total: number;
  sent: number;
  acked: number;
  packetSize: number;
  maxUnacked: number;
  md5: ReturnType<typeof createHash>;
}

export class RomLoader {
  readonly regs: RegisterFile;
  private readonly slip = new SlipDecoder(0x20000);
  private mode: "rom" | "stub" | "dead" = "rom";
  private baud = 115200;
  private write: WriteSession | undefined;
  private mem: MemSession | undefined;
  private memRegions: Array<{ start: number; end: number }> = [];
  private read: ReadSession | undefined;
  // ROM `value` field quirk: SYNC sets it to the sync magic, READ_REG to the register value, and
  // WRITE_REG / GET_SECURITY_INFO replies repeat it (all 352 WRITE_REG replies in the transcripts).
  private statVal = 0;
  // ESP32 and ESP-ROM (C3 observed) ROMs: an unknown command is answered by repeating the
  // previous reply's header with an error status, as often as that reply was sent
  // (esp32-chip-id.wire.json frames 10..17; docs/virtual-board.md "ROM reply buffer").
  private lastReplyOp = 0;
  private lastReplyCount = 1;
  // The ROM builds every reply in one static buffer: data first, then the status word, whose last
  // two bytes are never written and show what an earlier, longer reply left there (observed on the
  // ESP32 and ESP32-C3 mask ROMs under Espressif's QEMU: after READ_FLASH_SLOW or SPI_FLASH_MD5,
  // READ_REG's status reads 00 00 <stale> <stale>). READ_FLASH_SLOW always sends the whole
  // 64-byte block, stale tail included.
  private readonly romBuf = new Uint8Array(0x80);
  private readonly profile: "qemu" | "board";

  constructor(private readonly opts: LoaderOptions) {
    this.profile = opts.efuseProfile ?? "board";
    this.regs = new RegisterFile(opts.target.name, opts.flash.size, opts.mac);
  }

  get isStub(): boolean {
    return this.mode === "stub";
  }

  get currentBaud(): number {
    return this.baud;
  }

  /** Feeds received bytes; returns what the chip does in response, in order. */
  receive(bytes: Uint8Array): LoaderAction[] {
    const actions: LoaderAction[] = [];
    if (this.mode === "dead") return actions;
    for (const ev of this.slip.push(bytes)) {
      if ((this.mode as string) === "dead") break;
      if (ev.kind !== "packet") continue; // noise and broken frames are ignored, as the ROM does
      if (this.read) {
        this.onReadAck(ev.packet, actions);
        continue;
      }
      this.onPacket(ev.packet, actions);
    }
    return actions;
  }

  private onPacket(packet: Uint8Array, out: LoaderAction[]): Handled {
    const dec = decodeCommand(packet);
    if (!dec.ok) {
      // A request with a wrong length field or direction byte: "received message is invalid".
      if (packet.length >= 2 && packet[0] === 0x00)
        this.fail(out, packet[1]!, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
      return HANDLED;
    }
    const cmd = dec.value;
    try {
      if (this.mode === "rom") this.romCommand(cmd, out);
      else this.stubCommand(cmd, out);
    } catch (err) {
      // Nothing a host sends may crash the board; an internal surprise becomes a failed command.
      this.fail(out, cmd.op, RomError.FAILED, StubError.FAILED_SPI_OP);
      void err;
    }
    return HANDLED;
  }

  // ---------------------------------------------------------------- replies

  private reply(
    out: LoaderAction[],
    op: number,
    value: number,
    data: Uint8Array = new Uint8Array(0),
    times = 1,
  ): Handled {
    // The ROM's value field is the last READ_REG value (or SYNC's magic) in every reply, whatever
    // the command (ESP32 and ESP32-C3 ROMs under QEMU: rom-transcripts/*-rom-buffer.probe.json).
    const v = this.mode === "rom" ? this.statVal : value;
    const frame = slipEncode(encodeResponse(op, v, this.body(data, 0, 0)));
    for (let i = 0; i < times; i++) out.push({ kind: "send", bytes: frame });
    this.lastReplyOp = op;
    this.lastReplyCount = times;
    return HANDLED;
  }

  private fail(out: LoaderAction[], op: number, romCode: number, stubCode: number, value?: number): Handled {
    const rom = this.mode === "rom";
    // ROM: status 1, then the error code. The stub puts its code in the status byte and 0 after
    // it (esptool util.py FatalError.WithResult keys stub results as 0xC000..0xFF00; esp-flasher-
    // stub under QEMU answers an unknown op with c3 00: rom-transcripts/esp32c3-stub.probe.json).
    const body = rom ? this.body(new Uint8Array(0), 1, romCode) : this.body(new Uint8Array(0), stubCode, 0);
    const v = value ?? (rom ? this.statVal : 0);
    out.push({ kind: "send", bytes: slipEncode(encodeResponse(op, v, body)) });
    this.lastReplyOp = op;
    this.lastReplyCount = 1;
    return HANDLED;
  }

  /**
   * Reply payload: data, then the status. The stub sends 2 status bytes; the ROM 4, built in its
   * reply buffer, whose last two status bytes are whatever an earlier reply left there.
   */
  private body(data: Uint8Array, status: number, error: number): Uint8Array {
    if (this.mode !== "rom") {
      const b = new Uint8Array(data.length + 2);
      b.set(data, 0);
      b[data.length] = status;
      b[data.length + 1] = error;
      return b;
    }
    const n = data.length;
    this.romBuf.set(data, 0);
    this.romBuf[n] = status;
    this.romBuf[n + 1] = error;
    return this.romBuf.slice(0, n + ROM_STATUS_LEN);
  }

  // ---------------------------------------------------------------- ROM

  /** Flash, MD5, baud and RAM-upload commands: one handler each, which tells ROM from stub itself. */
  private transferCommand(cmd: RomCommand, w: number[], out: LoaderAction[]): Handled | undefined {
    switch (cmd.op) {
      case Op.FLASH_BEGIN:
      case Op.FLASH_DEFL_BEGIN:
        return this.flashBegin(cmd, w, out);
      case Op.FLASH_DATA:
      case Op.FLASH_DEFL_DATA:
        return this.flashData(cmd, w, out);
      case Op.FLASH_END:
      case Op.FLASH_DEFL_END:
        return this.flashEnd(cmd, w, out);
      case Op.SPI_FLASH_MD5:
        return this.md5(cmd, w, out);
      case Op.CHANGE_BAUDRATE:
        return this.changeBaud(cmd, w, out);
      case Op.MEM_BEGIN:
      case Op.MEM_DATA:
      case Op.MEM_END:
        return this.memCommand(cmd, w, out);
      default:
        return undefined;
    }
  }

  private romCommand(cmd: RomCommand, out: LoaderAction[]): Handled {
    const t = this.opts.target;
    const w = words(cmd.data);
    const transfer = this.transferCommand(cmd, w, out);
    if (transfer !== undefined) return transfer;
    switch (cmd.op) {
      case Op.SYNC:
        if (!isSync(cmd.data)) return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, 0);
        this.statVal = SYNC_MAGIC_VALUE;
        return this.reply(out, Op.SYNC, this.statVal, undefined, ROM_SYNC_REPLIES);
      case Op.READ_REG:
        if (cmd.data.length !== 4) return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, 0);
        this.statVal = this.regs.read(w[0]!);
        return this.reply(out, cmd.op, this.statVal);
      case Op.WRITE_REG:
        if (cmd.data.length === 0 || cmd.data.length % 16 !== 0)
          return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, 0);
        this.writeRegs(w);
        return this.reply(out, cmd.op, this.statVal);
      case Op.GET_SECURITY_INFO:
        if (!t.romHasSecurityInfo) return this.unknownRom(out);
        return this.reply(out, cmd.op, this.statVal, this.securityInfo());
      case Op.SPI_ATTACH:
        if (cmd.data.length !== 8) return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, 0);
        return this.reply(out, cmd.op, 0);
      case Op.SPI_SET_PARAMS:
        if (cmd.data.length !== 24) return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, 0);
        return this.reply(out, cmd.op, 0);
      case Op.READ_FLASH_SLOW:
        return this.readFlashSlow(cmd, w, out);
      default:
        return this.unknownRom(out);
    }
  }

  /**
   * The ROM repeats its previous reply header (op and value) with status 01 05, as often as that
   * reply was sent (ESP32: esp32-chip-id.wire.json; ESP32-C3: observed under QEMU, docs/virtual-board.md).
   */
  private unknownRom(out: LoaderAction[]): Handled {
    const frame = slipEncode(
      encodeResponse(
        this.lastReplyOp,
        this.statVal,
        this.body(new Uint8Array(0), 1, RomError.INVALID_MESSAGE),
      ),
    );
    for (let i = 0; i < this.lastReplyCount; i++) out.push({ kind: "send", bytes: frame });
    return HANDLED;
  }

  /**
   * ROM READ_FLASH_SLOW (0x0E): `addr, len` (further words ignored), answered with the whole 64-byte
   * reply block whatever `len` is: the first `len` bytes are flash, the rest is what the buffer held.
   * len > 64: status 01 0a and the buffer unchanged; a range past the end of flash: 01 09. The value
   * field carries the last READ_REG value, as for WRITE_REG. (Observed on the ESP32 and ESP32-C3
   * ROMs under QEMU; esptool reads with it when --no-stub, targets/esp32.py read_flash_slow.)
   */
  private readFlashSlow(cmd: RomCommand, w: number[], out: LoaderAction[]): Handled {
    if (cmd.data.length < 8) return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, 0);
    const [addr, len] = w as [number, number];
    const block = () => this.romBuf.subarray(0, ROM_SLOW_READ_BLOCK);
    const answer = (status: number, error: number) => {
      const frame = slipEncode(encodeResponse(cmd.op, this.statVal, this.body(block(), status, error)));
      out.push({ kind: "send", bytes: frame });
      this.lastReplyOp = cmd.op;
      this.lastReplyCount = 1;
      return HANDLED;
    };
    if (len > ROM_SLOW_READ_BLOCK) return answer(1, RomError.READ_LENGTH);
    const data = this.opts.flash.read(addr, len);
    if (!data) return answer(1, RomError.FLASH_READ);
    this.romBuf.set(data, 0);
    return answer(0, 0);
  }

  private securityInfo(): Uint8Array {
    const t = this.opts.target;
    const keyPurposes = new Uint8Array(7);
    // QEMU's blank eFuses report key purpose 6 = 0x0c on the C3 (esp32c3-chip-id.json@10).
    if (this.profile === "qemu" && t.name === "esp32c3") keyPurposes[6] = 0x0c;
    const head = new Uint8Array(12);
    head.set(keyPurposes, 5); // flags u32 = 0, flash_crypt_cnt = 0, key_purposes[7]
    if (!t.securityInfoHasChipId) return head; // ESP32-S2: 12 bytes
    const out = new Uint8Array(20);
    out.set(head, 0);
    out.set(u32le(t.chipId, 3), 12); // chip_id, api_version 3 (transcript)
    return out;
  }

  private writeRegs(w: number[]): void {
    for (let i = 0; i + 3 < w.length; i += 4) this.regs.write(w[i]!, w[i + 1]!, w[i + 2]!);
  }

  // ---------------------------------------------------------------- flash writes

  private flashBegin(cmd: RomCommand, w: number[], out: LoaderAction[]): Handled {
    const rom = this.mode === "rom";
    const expectWords = rom && this.opts.target.romFlashBeginHasEncryptedWord ? 5 : 4;
    const okLen = rom
      ? cmd.data.length === expectWords * 4
      : cmd.data.length === 16 || cmd.data.length === 20;
    if (!okLen) return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
    const [size, , blockSize, offset] = w as [number, number, number, number];
    const compressed = cmd.op === Op.FLASH_DEFL_BEGIN;
    if (offset + size > this.opts.flash.size) {
      this.write = undefined;
      return this.fail(out, cmd.op, RomError.FAILED, StubError.TOO_MUCH_DATA);
    }
    if (!rom && blockSize > 0x4000 * 4) return this.fail(out, cmd.op, 0, StubError.BAD_BLOCKSIZE);
    this.write = {
      compressed,
      offset,
      total: size,
      written: 0,
      zdata: [],
      zlen: 0,
      erasedUpTo: offset,
      blockSize: blockSize || ROM_WRITE_BLOCK,
    };
    if (rom) {
      // The ROM erases the whole region up front.
      const r = this.opts.flash.erase(offset, size);
      if (r !== "ok") return this.flashFailure(out, cmd.op, r);
    }
    this.reply(out, cmd.op, 0);
    return HANDLED;
  }

  private flashData(cmd: RomCommand, w: number[], out: LoaderAction[]): Handled {
    const rom = this.mode === "rom";
    const s = this.write;
    const compressed = cmd.op === Op.FLASH_DEFL_DATA;
    if (!s || s.compressed !== compressed)
      return this.fail(out, cmd.op, RomError.FAILED, StubError.NOT_IN_FLASH_MODE);
    if (cmd.data.length < 16 || w[0] !== cmd.data.length - 16) {
      return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
    }
    const block = cmd.data.subarray(16);
    if (romChecksum(block) !== cmd.checksum)
      return this.fail(out, cmd.op, RomError.INVALID_CRC, StubError.BAD_DATA_CHECKSUM);
    let plain: Uint8Array;
    let at: number;
    if (compressed) {
      s.zdata.push(block.slice());
      s.zlen += block.length;
      const all = inflateSoFar(Buffer.concat(s.zdata, s.zlen));
      if (!all) return this.fail(out, cmd.op, RomError.DEFLATE, StubError.INFLATE_ERROR);
      plain = all.subarray(s.written);
      at = s.offset + s.written;
    } else {
      const seq = w[1]!;
      plain = block;
      at = rom ? s.offset + seq * s.blockSize : s.offset + s.written;
    }
    // The last block is padded (0xFF) by the host; only the announced size is written.
    const room = Math.max(0, s.offset + s.total - at);
    if (plain.length > room) {
      if (compressed && !rom) return this.fail(out, cmd.op, 0, StubError.TOO_MUCH_DATA);
      plain = plain.subarray(0, room);
    }
    if (!rom) {
      // The stub erases sectors on the fly, just ahead of the data.
      const end = at + plain.length;
      if (end > s.erasedUpTo) {
        const r = this.opts.flash.erase(s.erasedUpTo, end - s.erasedUpTo);
        if (r !== "ok") return this.flashFailure(out, cmd.op, r);
        s.erasedUpTo = Math.ceil(end / 0x1000) * 0x1000;
      }
    }
    const r = this.opts.flash.program(at, plain);
    if (r !== "ok") return this.flashFailure(out, cmd.op, r);
    s.written = compressed ? s.written + plain.length : Math.max(s.written, at - s.offset + plain.length);
    this.reply(out, cmd.op, 0);
    return HANDLED;
  }

  private flashFailure(out: LoaderAction[], op: number, r: FlashWriteResult): Handled {
    if (r === "stuck") {
      this.mode = "dead";
      out.push({ kind: "hang", reason: "flash write never completed (stuck-flash fault)" });
      return HANDLED;
    }
    this.fail(out, op, RomError.FLASH_WRITE, StubError.FAILED_SPI_OP);
    return HANDLED;
  }

  private flashEnd(cmd: RomCommand, w: number[], out: LoaderAction[]): Handled {
    if (cmd.data.length !== 4)
      return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
    const s = this.write;
    if (this.mode === "stub") {
      if (!s) return this.fail(out, cmd.op, 0, StubError.NOT_IN_FLASH_MODE);
      if (s.written < s.total) return this.fail(out, cmd.op, 0, StubError.NOT_ENOUGH_DATA);
    }
    this.write = undefined;
    this.reply(out, cmd.op, 0);
    // The flag: 0 = reboot, 1 = run user code (esptool serial-protocol.rst; flash_finish(reboot)
    // sends `not reboot`). Observed under QEMU (docs/virtual-board.md): the ROM answers, sends an
    // empty SLIP frame and resets the system (C3 banner rst:0x3 RTC_SW_SYS_RST), which samples the
    // boot mode again; esp-flasher-stub (esptool v5.3.0's stub) answers and keeps running either way.
    if (this.mode === "rom" && w[0] === 0) {
      out.push({ kind: "send", bytes: Uint8Array.of(0xc0, 0xc0) });
      out.push({ kind: "reboot", reset: "system" });
    }
    return HANDLED;
  }

  private md5(cmd: RomCommand, w: number[], out: LoaderAction[]): Handled {
    if (cmd.data.length !== 16)
      return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
    const data = this.opts.flash.read(w[0]!, w[1]!);
    if (!data) return this.fail(out, cmd.op, RomError.FLASH_READ, StubError.FAILED_SPI_OP);
    const digest = createHash("md5").update(data).digest();
    // ROM: 32 lowercase hex characters; stub: the 16 raw bytes.
    const body =
      this.mode === "rom" ? new TextEncoder().encode(digest.toString("hex")) : new Uint8Array(digest);
    this.reply(out, cmd.op, 0, body);
    return HANDLED;
  }

  private changeBaud(cmd: RomCommand, w: number[], out: LoaderAction[]): Handled {
    if (cmd.data.length !== 8)
      return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
    const baud = w[0]!;
    if (baud < 300 || baud > 5_000_000)
      return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
    this.reply(out, cmd.op, 0); // answered at the old rate
    this.baud = baud;
    this.regs.setUartClockDivider(baud);
    out.push({ kind: "set-baud", baud });
    return HANDLED;
  }

  // ---------------------------------------------------------------- RAM upload (stub)

  private memCommand(cmd: RomCommand, w: number[], out: LoaderAction[]): Handled {
    if (cmd.op === Op.MEM_BEGIN) {
      if (cmd.data.length !== 16)
        return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
      const [size, , , offset] = w as [number, number, number, number];
      this.mem = { offset, size, received: 0 };
      this.memRegions.push({ start: offset, end: offset + size });
      return this.reply(out, cmd.op, 0);
    }
    if (cmd.op === Op.MEM_DATA) {
      if (!this.mem) return this.fail(out, cmd.op, RomError.FAILED, StubError.NOT_IN_FLASH_MODE);
      if (cmd.data.length < 16 || w[0] !== cmd.data.length - 16) {
        return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
      }
      const block = cmd.data.subarray(16);
      if (romChecksum(block) !== cmd.checksum)
        return this.fail(out, cmd.op, RomError.INVALID_CRC, StubError.BAD_DATA_CHECKSUM);
      if (this.mem.received + block.length > this.mem.size) {
        return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.TOO_MUCH_DATA);
      }
      this.mem.received += block.length;
      return this.reply(out, cmd.op, 0);
    }
    // MEM_END: flag word (0 = jump to entry), entry address.
    if (cmd.data.length !== 8)
      return this.fail(out, cmd.op, RomError.INVALID_MESSAGE, StubError.BAD_DATA_LEN);
    const [flag, entry] = w as [number, number];
    this.reply(out, cmd.op, 0);
    this.mem = undefined;
    if (flag !== 0) return HANDLED;
    const inUploaded = this.memRegions.some((r) => entry >= r.start && entry < r.end);
    if (!inUploaded) {
      // Jumping to code that was never uploaded: the real chip crashes silently.
      this.mode = "dead";
      out.push({ kind: "hang", reason: `MEM_END jumped to 0x${entry.toString(16)} outside uploaded RAM` });
      return HANDLED;
    }
    // The uploaded code is taken to be esptool's flasher stub: it greets with a bare "OHAI" frame.
    this.mode = "stub";
    this.write = undefined;
    this.memRegions = [];
    out.push({ kind: "send", bytes: slipEncode(new TextEncoder().encode("OHAI")) });
    return HANDLED;
  }

  // ---------------------------------------------------------------- stub

  private stubCommand(cmd: RomCommand, out: LoaderAction[]): Handled {
    const w = words(cmd.data);
    const transfer = this.transferCommand(cmd, w, out);
    if (transfer !== undefined) return transfer;
    switch (cmd.op) {
      case Op.SYNC:
        if (!isSync(cmd.data)) return this.fail(out, cmd.op, 0, StubError.BAD_DATA_LEN);
        // Like the ROM, 8 replies, but with value 0: esptool's sync() reads all 8 and takes value
        // 0 as "the stub is already running" (loader.py sync_stub_detected; esp-flasher-stub
        // under QEMU: rom-transcripts/esp32c3-stub.probe.json).
        return this.reply(out, cmd.op, 0, undefined, ROM_SYNC_REPLIES);
      case Op.READ_REG:
        if (cmd.data.length !== 4) return this.fail(out, cmd.op, 0, StubError.BAD_DATA_LEN);
        return this.reply(out, cmd.op, this.regs.read(w[0]!));
      case Op.WRITE_REG:
        if (cmd.data.length === 0 || cmd.data.length % 16 !== 0)
          return this.fail(out, cmd.op, 0, StubError.BAD_DATA_LEN);
        this.writeRegs(w);
        return this.reply(out, cmd.op, 0);
      case Op.GET_SECURITY_INFO:
        if (!this.opts.target.romHasSecurityInfo)
          return this.fail(out, cmd.op, 0, StubError.CMD_NOT_IMPLEMENTED);
        return this.reply(out, cmd.op, 0, this.securityInfo());
      case Op.SPI_ATTACH:
        // The stub takes the one pin word only (esptool and esptool-js send 4 bytes to it; the
        // ROM's extra word gets 0xC0 from esp-flasher-stub, stub.probe.json).
        if (cmd.data.length !== 4) return this.fail(out, cmd.op, 0, StubError.BAD_DATA_LEN);
        return this.reply(out, cmd.op, 0);
      case Op.SPI_SET_PARAMS:
        if (cmd.data.length !== 24) return this.fail(out, cmd.op, 0, StubError.BAD_DATA_LEN);
        return this.reply(out, cmd.op, 0);
      case Op.ERASE_FLASH: {
        const r = this.opts.flash.eraseAll();
        if (r !== "ok") return this.flashFailure(out, cmd.op, r);
        return this.reply(out, cmd.op, 0);
      }
      case Op.ERASE_REGION: {
        if (cmd.data.length !== 8) return this.fail(out, cmd.op, 0, StubError.BAD_DATA_LEN);
        const [addr, len] = w as [number, number];
        if (addr % 0x1000 !== 0 || len % 0x1000 !== 0)
          return this.fail(out, cmd.op, 0, StubError.BAD_DATA_LEN);
        const r = this.opts.flash.erase(addr, len);
        if (r !== "ok") return this.flashFailure(out, cmd.op, r);
        return this.reply(out, cmd.op, 0);
      }
      case Op.READ_FLASH:
        return this.readFlashStart(cmd, w, out);
      case Op.RUN_USER_CODE:
        // No reply; the legacy stub leaves for the app (esptool uses it on the ESP8266 only,
        // rsagen's flasher on ports without reset lines). esp-flasher-stub ignores it (QEMU).
        out.push({ kind: "reboot", reset: "software" });
        return HANDLED;
      default:
        return this.fail(out, cmd.op, 0, StubError.INVALID_COMMAND);
    }
  }

  private readFlashStart(cmd: RomCommand, w: number[], out: LoaderAction[]): Handled {
    if (cmd.data.length !== 16) return this.fail(out, cmd.op, 0, StubError.BAD_DATA_LEN);
    const [addr, total, packetSize, maxUnacked] = w as [number, number, number, number];
    if (packetSize === 0 || packetSize > 0x4000 || maxUnacked === 0)
      return this.fail(out, cmd.op, 0, StubError.BAD_DATA_LEN);
    if (!this.opts.flash.read(addr, total)) return this.fail(out, cmd.op, 0, StubError.FAILED_SPI_OP);
    this.reply(out, cmd.op, 0);
    this.read = { addr, total, sent: 0, acked: 0, packetSize, maxUnacked, md5: createHash("md5") };
    this.pumpRead(out);
    return HANDLED;
  }

  private pumpRead(out: LoaderAction[]): Handled {
    const r = this.read!;
    while (r.sent < r.total && r.sent - r.acked < r.packetSize * r.maxUnacked) {
      const n = Math.min(r.packetSize, r.total - r.sent);
      const chunk = this.opts.flash.read(r.addr + r.sent, n)!;
      r.md5.update(chunk);
      r.sent += n;
      out.push({ kind: "send", bytes: slipEncode(chunk) });
    }
    if (r.acked >= r.total) {
      out.push({ kind: "send", bytes: slipEncode(new Uint8Array(r.md5.digest())) });
      this.read = undefined;
    }
    return HANDLED;
  }

  private onReadAck(packet: Uint8Array, out: LoaderAction[]): Handled {
    if (packet.length !== 4) return HANDLED; // not an ack: the stub keeps waiting for one
    const v = new DataView(packet.buffer, packet.byteOffset, 4).getUint32(0, true);
    const r = this.read!;
    if (v > r.sent || v < r.acked) return HANDLED;
    r.acked = v;
    this.pumpRead(out);
    return HANDLED;
  }
}

function isSync(data: Uint8Array): boolean {
  if (data.length !== 36 || data[0] !== 0x07 || data[1] !== 0x07 || data[2] !== 0x12 || data[3] !== 0x20)
    return false;
  for (let i = 4; i < 36; i++) if (data[i] !== 0x55) return false;
  return true;
}

/** Inflates as much of a (possibly incomplete) zlib stream as is available; undefined if corrupt. */
function inflateSoFar(z: Buffer): Uint8Array | undefined {
  try {
    return inflateSync(z, { finishFlush: zc.Z_SYNC_FLUSH });
  } catch {
    return undefined;
  }
}
