/**
 * esptool's reset sequences as pyserial's RFC 2217 client (the one esptool uses) sends them to the
 * virtual board, without esptool itself (so this runs in CI: Debian python3-serial). Each line change
 * is one SET-CONTROL that pyserial acknowledges by polling every 50 ms (or, with `?ign_set_control`,
 * by sleeping 100 ms), so DTR=1/RTS=1 lasts 50..100 ms in the middle of the classic reset. The board
 * must still end in ROM download mode (esp_rfc2217_server's behaviour) and answer SYNC; the hard
 * reset must boot from flash. Sequences from esptool reset.py: v5.3.0 ClassicReset (each _setRTS
 * repeats DTR), the v4 form without that repeat, UnixTightReset sent line by line, HardReset.
 */
import { spawn, spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { type Board, type ChipState, startBoard } from "../../src/sim/index.js";

function pythonWithPyserial(): string | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    if (spawnSync(py, ["-c", "import serial.rfc2217"]).status === 0) return py;
  }
  return undefined;
}
const python = pythonWithPyserial();
const required = process.env.CI === "true";

const SCRIPT = String.raw`
import serial, struct, sys, time
url, seq = sys.argv[1], sys.argv[2]
p = serial.serial_for_url(url, baudrate=115200, timeout=0.5, do_not_open=True)
if seq == "hard":
    p.dtr = False; p.rts = False    # as esptool leaves them after its reset
p.open()                            # otherwise DTR=1, RTS=1 (pyserial's defaults, esptool on Linux)
def classic(repeat_dtr):
    p.dtr = False; p.rts = True
    if repeat_dtr: p.dtr = p.dtr
    time.sleep(0.1)
    p.dtr = True; p.rts = False
    if repeat_dtr: p.dtr = p.dtr
    time.sleep(0.05)
    p.dtr = False
def tight():
    for d, r in ((False, False), (True, True), (False, True)):
        p.dtr = d; p.rts = r
    time.sleep(0.1)
    p.dtr = True; p.rts = False
    time.sleep(0.05)
    p.dtr = False; p.rts = False
def hard():
    p.rts = True; p.dtr = p.dtr
    time.sleep(0.1)
    p.rts = False; p.dtr = p.dtr
def slip(b):
    return b"\xc0" + b.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"
p.reset_input_buffer()
{"classic-v5": lambda: classic(True), "classic-v4": lambda: classic(False), "tight": tight, "hard": hard}[seq]()
if seq == "hard":
    time.sleep(0.3)
    sys.stdout.write(p.read(4096).decode("latin1"))
else:
    data = b"\x07\x07\x12\x20" + b"\x55" * 32
    p.write(slip(struct.pack("<BBHI", 0, 8, len(data), 0) + data))
    time.sleep(0.3)
    got = p.read(4096)
    print("sync replies:", got.count(b"\xc0\x01\x08"))
p.close()
`;

let board: Board | undefined;
afterEach(async () => {
  await board?.close();
  board = undefined;
});

async function run(url: string, seq: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(python!, ["-c", SCRIPT, url, seq], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString("latin1");
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, out, err };
}

function states(b: Board): Array<[ChipState, string | undefined]> {
  const seen: Array<[ChipState, string | undefined]> = [];
  b.on("state", (s, d) => seen.push([s, d]));
  return seen;
}

describe.skipIf(!python && !required)("esptool's reset sequences through pyserial's RFC 2217 client", () => {
  for (const [seq, query] of [
    ["classic-v5", ""],
    ["classic-v4", ""],
    ["classic-v5", "?ign_set_control"],
    ["tight", ""],
  ] as const) {
    it(`${seq}${query}: download mode, the ROM answers SYNC`, async () => {
      expect(python, "python3-serial is missing (apt-get install python3-serial)").toBeDefined();
      board = await startBoard({ target: "esp32c3", bootRetryMs: 60_000 });
      const seen = states(board);
      const r = await run(`${board.url}${query}`, seq);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out.trim()).toBe("sync replies: 8");
      expect(seen.filter(([s]) => s === "download")).toHaveLength(1);
      expect(seen.find(([s]) => s === "download")?.[1]).toBe("download reset recognised");
    }, 20_000);
  }

  it("HardReset (--after hard-reset): EN held low, then a boot from flash (not download mode)", async () => {
    expect(python, "python3-serial is missing (apt-get install python3-serial)").toBeDefined();
    board = await startBoard({ target: "esp32", bootRetryMs: 60_000 });
    const seen = states(board);
    const r = await run(board.url, "hard");
    expect(r.code).toBe(0);
    expect(seen.map(([s]) => s)).toEqual(["reset", "booting", "halted"]);
    // The ROM's banner of a boot from flash, then the failure on the erased flash.
    expect(r.out).toContain("rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)");
    expect(r.out).toContain("invalid header: 0xffffffff");
  }, 20_000);
});
