/**
 * A packet link over a FlashPort: SLIP frames out, a queue of decoded packets in. The byte stream
 * is parsed as a stream (ROM replies arrive split and merged, see the wire captures in
 * test/vectors/rom-transcripts), and text outside frames (the ROM boot banner) is kept so the
 * connect logic can tell "wrong boot mode" from "no board".
 */
import { RsagenError } from "../errors.js";
import { SlipDecoder, slipEncode } from "../rom/index.js";
import type { FlashPort } from "./port.js";

export class LinkTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`no reply to ${what} within ${ms} ms`);
    this.name = "LinkTimeout";
  }
}

const NOISE_KEEP = 4096;

export class PacketLink {
  private readonly decoder = new SlipDecoder(0x11000);
  private readonly queue: Uint8Array[] = [];
  private waiter: (() => void) | undefined;
  private noise = "";
  private lost: RsagenError | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(readonly port: FlashPort) {
    this.unsubscribe.push(port.onData((chunk) => this.receive(chunk)));
    this.unsubscribe.push(
      port.onClose((err) => {
        this.lost = new RsagenError(
          "E_PORT_LOST",
          `the serial port ${port.description} went away${err ? ` (${err.message})` : ""}`,
          "check the cable and the board's power, then flash again (nothing is reported written unless its MD5 matched)",
        );
        this.wake();
      }),
    );
  }

  /** Stops listening to the port (the port itself stays open for the next user). */
  detach(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.wake();
  }

  get portLost(): RsagenError | undefined {
    return this.lost;
  }

  /** Text received outside SLIP frames (boot banner, log lines), the last 4 KiB since clearText(). */
  get text(): string {
    return this.noise;
  }

  async send(packet: Uint8Array): Promise<void> {
    if (this.lost) throw this.lost;
    try {
      await this.port.write(slipEncode(packet));
    } catch (err) {
      if (err instanceof RsagenError) throw this.lost ?? err;
      throw (
        this.lost ??
        new RsagenError(
          "E_PORT_LOST",
          `writing to ${this.port.description} failed: ${(err as Error).message}`,
          "check the cable and the board's power, then flash again",
          { cause: err },
        )
      );
    }
  }

  /** Drops queued packets (before a command, so stale replies cannot match it); text is kept. */
  flush(): void {
    this.queue.length = 0;
  }

  /** Forgets the text received so far. */
  clearText(): void {
    this.noise = "";
  }

  /** Next whole packet, or LinkTimeout. Throws E_PORT_LOST if the port went away. */
  async read(timeoutMs: number, what = "command"): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.queue.shift();
      if (p) return p;
      if (this.lost) throw this.lost;
      const left = deadline - Date.now();
      if (left <= 0) throw new LinkTimeout(what, timeoutMs);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = undefined;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = undefined;
          resolve();
        };
      });
    }
  }

  private receive(chunk: Uint8Array): void {
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind === "packet") this.queue.push(ev.packet);
      else if (ev.kind === "noise") {
        this.noise = (this.noise + Buffer.from(ev.bytes).toString("latin1")).slice(-NOISE_KEEP);
      }
    }
    this.wake();
  }

  private wake(): void {
    this.waiter?.();
  }
}
