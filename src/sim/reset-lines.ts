/**
 * The reset lines of a virtual board: DTR/RTS in, "chip held in reset" and "chip released (boot
 * mode sampled)" out. Shared by every virtual board (the host board of src/sim/board.ts and any
 * other chip model behind the RFC 2217 server); all timing of the reset circuit lives here.
 *
 * Circuits:
 * - "auto-reset": the two-transistor circuit of Espressif dev kits (ESP-IDF docs
 *   api-guides/boot-mode-selection.rst, esptool docs advanced-topics/boot-mode-selection.rst):
 *   EN is low only while RTS is asserted and DTR is not; the strapping pin (GPIO0; GPIO9 on C3/C6)
 *   is low only while DTR is asserted and RTS is not. EN rises through an RC network, and the chip
 *   samples the strap when EN has risen ({@link EN_RC_MS} later).
 * - "usb-serial-jtag": the USB-Serial-JTAG peripheral of S3/C3/C6 decodes the line states itself
 *   (esptool reset.py USBJTAGSerialReset at v5.3.0): DTR=1/RTS=0 arms download mode, DTR=0/RTS=1
 *   holds the chip in reset, releasing RTS boots it. Timing plays no part, so nothing is skewed.
 *
 * Why the auto-reset circuit needs more than the truth table: over RFC 2217 each line change is
 * its own SET-CONTROL, and pyserial's client (esptool's) waits ~50 ms for the server's answer to
 * each one (serial/rfc2217.py: TelnetSubnegotiation.wait polls every 50 ms; with `?ign_set_control`
 * it sleeps 100 ms instead). esptool's ClassicReset (reset.py at v5.3.0: DTR=0, RTS=1, 100 ms,
 * DTR=1, RTS=0, 50 ms, DTR=0) is meant to go from "EN low" straight to "EN high, strap low", but
 * over RFC 2217 it passes through DTR=1/RTS=1 (EN high, strap high) for 50..100 ms: on a plain
 * circuit the chip samples the strap high there and boots the app ("Wrong boot mode detected").
 * A real board behind RFC 2217 sits behind Espressif's esp_rfc2217_server, whose port manager
 * (esp_rfc2217_server/esp_port_manager.py at v5.3.0) spots the DTR-asserting SET-CONTROL that
 * starts the download reset and runs the whole sequence locally with esptool's timing.
 *
 * This module does the same at the same point of the stream, with one narrowing: the download
 * reset is recognised when DTR is asserted while RTS is asserted and DTR was not, i.e. when the
 * lines go from "EN held low" to DTR=1/RTS=1. That state lasts microseconds on a local port and is
 * only ever a step on the way to DTR=1/RTS=0, so the chip is released with the strap low, as the
 * sequence run locally would release it. esp_rfc2217_server reacts to any DTR assertion and to any
 * RTS release; doing the same here would reset the board whenever a client opens the port with DTR
 * asserted (pyserial's default) or drives both lines to idle on connect (rsagen's client), which a
 * dev board on a local port does not do. Everything else follows the circuit: RTS alone holds EN
 * low, releasing it boots with the strap as the lines set it (esptool's HardReset, `--after
 * hard-reset`), and lines that never pull EN low (`--before no-reset`) never reset the chip.
 */
import { EventEmitter } from "node:events";

/** EN rises through an RC network: the strap is sampled this long after EN is released. */
export const EN_RC_MS = 5;

export type ResetCircuit = "auto-reset" | "usb-serial-jtag";

export interface ResetRelease {
  /** The chip starts in ROM download mode (strap low / USB download armed) instead of booting. */
  download: boolean;
  /** The release completes esptool's download reset recognised in a skewed line stream. */
  recognised?: boolean;
}

export interface ResetLinesEvents {
  /** The chip is held in reset: stop it. `cause` says whether the lines or a fault pulse did it. */
  hold: [cause: "lines" | "pulse"];
  /** EN was released and the boot mode sampled (or the USB-Serial-JTAG sequence completed). */
  release: [info: ResetRelease];
}

export interface ResetLinesOptions {
  /** EN rise time before the strap is sampled (default {@link EN_RC_MS}). */
  enRcMs?: number;
}

export class ResetLines extends EventEmitter<ResetLinesEvents> {
  private dtr = false;
  private rts = false;
  private held = false;
  private sampleTimer: NodeJS.Timeout | undefined;
  /** The pending strap sample belongs to a recognised download reset: the strap reads low. */
  private strapLatchedLow = false;
  private usbDownloadArmed = false;
  private readonly enRcMs: number;

  constructor(
    readonly circuit: ResetCircuit,
    options: ResetLinesOptions = {},
  ) {
    super();
    this.enRcMs = options.enRcMs ?? EN_RC_MS;
  }

  /** Current line levels as the client set them (true = asserted). */
  get lines(): { dtr: boolean; rts: boolean } {
    return { dtr: this.dtr, rts: this.rts };
  }

  /** True from a `hold` until the matching `release`. */
  get inReset(): boolean {
    return this.held;
  }

  /** A DTR/RTS change from the client (the full new state; unchanged calls are no-ops). */
  setLines(dtr: boolean, rts: boolean): void {
    const prev = { dtr: this.dtr, rts: this.rts };
    if (prev.dtr === dtr && prev.rts === rts) return;
    this.dtr = dtr;
    this.rts = rts;
    if (this.circuit === "usb-serial-jtag") {
      this.usbLines();
      return;
    }
    if (rts && !dtr) {
      this.enLow("lines");
      return;
    }
    // EN is high. Rising now? Then the strap is sampled once it has risen through the RC delay.
    if (this.held && this.sampleTimer === undefined) {
      const recognised = prev.rts && !prev.dtr && dtr && rts;
      this.strapLatchedLow = recognised;
      this.scheduleSample();
    }
  }

  /**
   * Strap level for a restart without the reset lines (software reset, power-on): the download
   * strap is low only while DTR alone is asserted on the auto-reset circuit.
   */
  strapDownload(): boolean {
    if (this.circuit === "usb-serial-jtag") return false;
    return this.dtr && !this.rts;
  }

  /** An EN pulse not caused by the lines (a reset fault): hold now, release after the RC delay. */
  pulse(): void {
    if (this.held && this.sampleTimer === undefined) return; // the lines hold EN low already
    this.enLow("pulse");
    if (this.circuit === "auto-reset" && this.rts && !this.dtr) return;
    this.strapLatchedLow = false;
    this.scheduleSample();
  }

  /** Cancels a pending strap sample (board closing). */
  dispose(): void {
    if (this.sampleTimer) clearTimeout(this.sampleTimer);
    this.sampleTimer = undefined;
    this.removeAllListeners();
  }

  private enLow(cause: "lines" | "pulse"): void {
    if (this.sampleTimer) clearTimeout(this.sampleTimer);
    this.sampleTimer = undefined;
    this.strapLatchedLow = false;
    if (this.held) return;
    this.held = true;
    this.emit("hold", cause);
  }

  private scheduleSample(): void {
    this.sampleTimer = setTimeout(() => {
      this.sampleTimer = undefined;
      const recognised = this.strapLatchedLow;
      this.strapLatchedLow = false;
      this.held = false;
      const download = recognised || this.strapDownload();
      this.emit("release", recognised ? { download, recognised } : { download });
    }, this.enRcMs);
  }

  private usbLines(): void {
    const { dtr, rts } = this;
    if (dtr && !rts) this.usbDownloadArmed = true;
    if (!dtr && rts) {
      this.enLow("lines");
      return;
    }
    if (!rts && this.held && this.sampleTimer === undefined) {
      const download = this.usbDownloadArmed;
      this.usbDownloadArmed = false;
      this.held = false;
      this.emit("release", { download });
    }
  }
}
