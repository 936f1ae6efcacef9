/** The serial engineer's Transport (src/serial/transport.ts) as the flasher's FlashPort. */
import type { RsagenError } from "../errors.js";
import type { Transport } from "../serial/transport.js";
import type { FlashPort } from "./port.js";
import { withWriteDeadline } from "./write-deadline.js";

export function transportPort(t: Transport): FlashPort {
  return {
    description: t.path,
    transport: t,
    usb: t.usb,
    get baud() {
      return t.baud;
    },
    write: (bytes) => withWriteDeadline(t.write(bytes), bytes.length, t.baud, t.path),
    onData(listener) {
      t.on("data", listener);
      return () => t.off("data", listener);
    },
    onClose(listener) {
      const f = (lost: RsagenError | undefined) => listener(lost ?? new Error("port closed"));
      t.on("close", f);
      return () => t.off("close", f);
    },
    async setSignals(s) {
      // A pty records the state but nothing reaches a chip: say so, so connect() falls back to a
      // plain sync and --after uses the loader's soft reset instead of a reset that did nothing.
      if (!t.capabilities.hasResetLines) throw new Error(`${t.path} has no DTR/RTS lines`);
      await t.setSignals(s);
    },
    setBaud: (baud) => t.setBaud(baud),
  };
}
