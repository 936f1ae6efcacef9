import { ClassicReset, UsbJtagSerialReset } from "esptool-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RsagenError } from "../../src/errors.js";
import { createEsptoolTransport, withConsoleRouted } from "../../src/serial/esptool-transport.js";
import { createTransport, openTransport } from "../../src/serial/open-transport.js";
import { Rfc2217Server, type SignalChange } from "../../src/serial/rfc2217-server.js";
import { WebSerialAdapter } from "../../src/serial/webserial-adapter.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

// A minimal SLIP codec for the test responder (RFC 1055: END=0xC0, ESC=0xDB, ESC_END=0xDC, ESC_ESC=0xDD).
function slipEncode(data: Uint8Array): Uint8Array {
  const out = [0xc0];
  for (const b of data) {
    if (b === 0xc0) out.push(0xdb, 0xdc);
    else if (b === 0xdb) out.push(0xdb, 0xdd);
    else out.push(b);
  }
  out.push(0xc0);
  return Uint8Array.from(out);
}
class SlipFrames {
  private cur: number[] | undefined;
  private esc = false;
  feed(chunk: Uint8Array, onFrame: (f: Uint8Array) => void): void {
    for (const b of chunk) {
      if (b === 0xc0) {
        if (this.cur && this.cur.length > 0) onFrame(Uint8Array.from(this.cur));
        this.cur = [];
      } else if (this.cur) {
        if (this.esc) {
          this.cur.push(b === 0xdc ? 0xc0 : 0xdb);
          this.esc = false;
        } else if (b === 0xdb) this.esc = true;
        else this.cur.push(b);
      }
    }
  }
}

/** The board peer: answers every SLIP frame with the frame's bytes reversed. */
async function reversingBoard() {
  const server = await Rfc2217Server.listen();
  cleanups.push(() => server.close());
  const frames: Uint8Array[] = [];
  const slip = new SlipFrames();
  server.on("data", (bytes) =>
    slip.feed(bytes, (f) => {
      frames.push(f);
      void server.write(slipEncode(f.slice().reverse()));
    }),
  );
  const signals: SignalChange[] = [];
  server.on("signals", (s) => signals.push(s));
  const bauds: number[] = [];
  server.on("baud", (b) => bauds.push(b));
  return { server, frames, signals, bauds };
}

describe("esptool-js Transport over the Web-Serial adapter (RFC 2217 to a test responder)", () => {
  it("writes and reads SLIP packets, changes baud in place, drives resets, routes its trace", async () => {
    const board = await reversingBoard();
    const consoleLog = vi.spyOn(console, "log");
    const log: string[] = [];
    const transport = createTransport(board.server.url, { usb: { vid: 0x10c4, pid: 0xea60 } });
    const esp = createEsptoolTransport(transport, { log: (l) => log.push(l) });
    cleanups.push(() => transport.close());

    expect(esp.getInfo()).toBe("WebSerial VendorID 0x10c4 ProductID 0xea60");
    await esp.connect(115200);
    expect(transport.isOpen).toBe(true);
    void esp.readLoop();

    const packet = Uint8Array.of(0x00, 0x08, 0xc0, 0xdb, 0xff, 0xff, 0x07, 0x12);
    await esp.write(packet);
    const reply = await esp.read(2000);
    expect(Array.from(reply)).toEqual(Array.from(packet).reverse());
    expect(Array.from(board.frames[0]!)).toEqual(Array.from(packet));

    // In place: setBaudRate exists on the adapter, so esptool-js does not reopen.
    expect(await esp.changeBaudrate(460800)).toBe(false);
    expect(board.bauds).toEqual([460800]);
    await esp.write(Uint8Array.of(1, 2, 3));
    expect(Array.from(await esp.read(2000))).toEqual([3, 2, 1]);

    // setRTS/setDTR send one key each; the adapter keeps the other line as it was. (Run first: esptool-js
    // 0.7.0's setSignals(false, ...) does not update its _DTR_state, so after ClassicReset its setRTS()
    // re-asserts a stale DTR.)
    await new UsbJtagSerialReset(esp).reset();
    expect(board.signals.map((s) => [s.line, s.dtr, s.rts])).toEqual([
      ["dtr", true, false],
      ["rts", true, true],
      ["dtr", false, true],
      ["rts", false, false],
    ]);

    board.signals.length = 0;
    // esptool-js's own ClassicReset: (D0,R1) (D1,R0) (D0,R0), one line per RFC 2217 command.
    await new ClassicReset(esp, 50).reset();
    expect(board.signals.map((s) => [s.dtr, s.rts])).toEqual([
      [false, true],
      [true, true],
      [true, false],
      [false, false],
    ]);
    const enRelease = board.signals[2]!.at;
    expect(enRelease - board.signals[0]!.at).toBeGreaterThanOrEqual(90); // the 100 ms reset pulse
    expect(board.signals[3]!.at - enRelease).toBeGreaterThanOrEqual(40); // GPIO0 held low 50 ms

    await esp.disconnect();
    expect(transport.isOpen).toBe(false);
    expect(log).toContain("esptool-js: readLoop exited");
    expect(consoleLog).not.toHaveBeenCalled();
  });

  it("readable: same stream while open, a new one after a reader cancels, bytes kept in between, null after close", async () => {
    const board = await reversingBoard();
    const transport = await openTransport(board.server.url);
    cleanups.push(() => transport.close());
    const port = new WebSerialAdapter(transport, { keepTransportOpen: true });
    await port.open({ baudRate: 115200 });
    const first = port.readable!;
    expect(port.readable).toBe(first);
    const reader = first.getReader();
    await reader.cancel();
    reader.releaseLock();
    expect(transport.isOpen).toBe(true);
    await board.server.write(Uint8Array.of(9, 8, 7));
    await new Promise((r) => setTimeout(r, 50));
    const second = port.readable!;
    expect(second).not.toBe(first);
    const r2 = second.getReader();
    expect(Array.from((await r2.read()).value!)).toEqual([9, 8, 7]);
    r2.releaseLock();

    const w = port.writable!.getWriter();
    await w.close(); // esptool-js flushOutput() does this
    expect(port.writable).not.toBeNull();

    await port.close();
    expect(port.readable).toBeNull();
    expect(port.writable).toBeNull();
    expect(transport.isOpen).toBe(true); // keepTransportOpen
  });

  it("a lost port errors the readable stream with E_PORT_LOST", async () => {
    const board = await reversingBoard();
    const transport = await openTransport(board.server.url);
    cleanups.push(() => transport.close());
    const port = new WebSerialAdapter(transport);
    await port.open({ baudRate: 115200 });
    const reader = port.readable!.getReader();
    const pending = reader.read();
    board.server.dropClient();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RsagenError);
    expect((err as RsagenError).code).toBe("E_PORT_LOST");
    expect(port.readable).toBeNull();
  });

  it("withConsoleRouted captures console output and restores the console", async () => {
    const original = console.log;
    const lines: string[] = [];
    const result = await withConsoleRouted(
      (l) => lines.push(l),
      async () => {
        console.log("Serial port", "x", 3);
        console.error(new Error("boom"));
        return 42;
      },
    );
    expect(result).toBe(42);
    expect(lines).toEqual(["Serial port x 3", "boom"]);
    expect(console.log).toBe(original);
  });
});
