/**
 * An in-process FlashPort wired to the virtual chip's loader state machine (src/sim/rom-loader.ts)
 * over in-memory flash, with fault knobs: corrupt programmed bytes, reset the chip after N writes,
 * vanish (port lost) after N writes. Used for fast session tests; the end-to-end tests use the
 * whole virtual board over RFC 2217 and a pty.
 *
 * It is both a FlashPort (for the session) and a serial Transport (TransportBase), so the stub
 * path drives it through the same Web-Serial adapter (src/serial/webserial-adapter.ts) as a real
 * port.
 */

import type { FlashPort, Signals } from "../../../src/flash/port.js";
import { Op, SlipDecoder, slipEncode } from "../../../src/rom/index.js";
import { type TransportCapabilities, transportOptionsSchema } from "../../../src/serial/transport.js";
import { TransportBase } from "../../../src/serial/transport-base.js";
import { MemoryFlash } from "../../../src/sim/flash.js";
import { RomLoader as SimLoader } from "../../../src/sim/rom-loader.js";
import { TARGETS, type TargetName } from "../../../src/targets.js";

export interface SimFaults {
  /** Flip a bit in every programmed chunk that covers this flash address. */
  corruptAt?: number;
  /** Reset the chip (back to a fresh ROM loader) when this many FLASH_*DATA frames have arrived. */
  resetAfterDataFrames?: number;
  /** The port disappears after this many FLASH_*DATA frames. */
  vanishAfterDataFrames?: number;
  /**
   * XOR masks for the chip id (data bytes 12..15) of successive GET_SECURITY_INFO replies, as bits
   * flipped on the line would damage it (ROM replies carry no checksum); 0 leaves one intact.
   */
  securityInfoChipIdFlips?: number[];
}

class CorruptingFlash extends MemoryFlash {
  corruptAt: number | undefined;
  override program(addr: number, data: Uint8Array) {
    const c = this.corruptAt;
    if (c !== undefined && c >= addr && c < addr + data.length) {
      const copy = data.slice();
      copy[c - addr] = copy[c - addr]! ^ 0x01;
      return super.program(addr, copy);
    }
    return super.program(addr, data);
  }
}

export class SimPort extends TransportBase implements FlashPort {
  readonly description: string;
  readonly flash: CorruptingFlash;
  private chip: SimLoader;
  private dataFrames = 0;
  private dataReplies = 0;
  /** Most data blocks the host had sent that the chip had not yet answered. */
  maxDataInFlight = 0;
  private gone = false;
  signalLog: Signals[] = [];
  reboots = 0;
  /** No DTR/RTS (like a pty): setSignals throws. */
  noResetLines = false;

  constructor(
    readonly target: TargetName,
    readonly faults: SimFaults = {},
  ) {
    super(`sim:${target}`, transportOptionsSchema.parse({}));
    this.opened = true;
    this.description = `sim:${target}`;
    this.flash = new CorruptingFlash(TARGETS[target].defaultFlashSize);
    this.flash.corruptAt = faults.corruptAt;
    this.chip = this.newChip();
  }

  private newChip(): SimLoader {
    return new SimLoader({ target: TARGETS[this.target], flash: this.flash, mac: new Uint8Array(6) });
  }

  get capabilities(): TransportCapabilities {
    return { kind: "serialport", hasResetLines: !this.noResetLines, inPlaceBaudChange: true, remote: false };
  }

  get transport(): this {
    return this;
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async purge(): Promise<void> {}

  get chipIsStub(): boolean {
    return this.chip.isStub;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.gone) throw new Error("port is gone");
    // Count data frames by opcode at the start of each frame (requests begin c0 00 op).
    for (let i = 0; i + 2 < bytes.length; i++) {
      if (bytes[i] === 0xc0 && bytes[i + 1] === 0x00 && (bytes[i + 2] === 0x03 || bytes[i + 2] === 0x11)) {
        this.dataFrames++;
        this.maxDataInFlight = Math.max(this.maxDataInFlight, this.dataFrames - this.dataReplies);
      }
    }
    if (
      this.faults.vanishAfterDataFrames !== undefined &&
      this.dataFrames >= this.faults.vanishAfterDataFrames
    ) {
      this.gone = true;
      setImmediate(() => this.finish(false, "device disconnected"));
      return;
    }
    if (
      this.faults.resetAfterDataFrames !== undefined &&
      this.dataFrames >= this.faults.resetAfterDataFrames
    ) {
      this.faults.resetAfterDataFrames = undefined;
      this.chip = this.newChip(); // power glitch: the frame is lost, the chip is back in its ROM
      this.currentBaud = 115200;
      return;
    }
    const actions = this.chip.receive(bytes);
    setImmediate(() => {
      for (const a of actions) {
        if (a.kind === "send") {
          // Replies to FLASH_DATA / FLASH_DEFL_DATA start c0 01 03 / c0 01 11.
          const b = a.bytes;
          for (let i = 0; i + 2 < b.length; i++)
            if (b[i] === 0xc0 && b[i + 1] === 0x01 && (b[i + 2] === 0x03 || b[i + 2] === 0x11))
              this.dataReplies++;
          this.deliver(this.damageOnLine(b));
        } else if (a.kind === "reboot") this.reboots++;
      }
    });
  }

  private damageOnLine(frame: Uint8Array): Uint8Array {
    const flips = this.faults.securityInfoChipIdFlips;
    if (!flips || flips.length === 0) return frame;
    const packets = new SlipDecoder().push(frame).flatMap((e) => (e.kind === "packet" ? [e.packet] : []));
    const p = packets[0];
    if (packets.length !== 1 || !p || p[0] !== 0x01 || p[1] !== Op.GET_SECURITY_INFO) return frame;
    const damaged = p.slice();
    const v = new DataView(damaged.buffer);
    v.setUint32(8 + 12, v.getUint32(8 + 12, true) ^ flips.shift()!, true);
    return slipEncode(damaged);
  }

  onData(listener: (chunk: Uint8Array) => void): () => void {
    this.on("data", listener);
    return () => this.off("data", listener);
  }

  onClose(listener: (err?: Error) => void): () => void {
    const f = (lost: Error | undefined) => listener(lost);
    this.on("close", f);
    return () => this.off("close", f);
  }

  async setSignals(s: Partial<Signals>): Promise<void> {
    if (this.noResetLines) throw new Error("Inappropriate ioctl for device");
    this.currentSignals = { ...this.currentSignals, ...s };
    this.signalLog.push({ ...this.currentSignals });
  }

  async setBaud(baud: number): Promise<void> {
    this.currentBaud = baud;
  }
}
