/**
 * The reset-line model (src/sim/reset-lines.ts) fed with the line streams that esptool's reset
 * strategies (reset.py at v5.3.0) produce on a local port and over RFC 2217 (one SET-CONTROL per
 * line, each ~50 ms apart with pyserial's answer wait, ~100 ms with `?ign_set_control`).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EN_RC_MS, type ResetCircuit, ResetLines, type ResetRelease } from "../../src/sim/reset-lines.js";

type Ev = { at: number; kind: "hold"; cause: string } | ({ at: number; kind: "release" } & ResetRelease);

let t0 = 0;
function record(lines: ResetLines): Ev[] {
  const evs: Ev[] = [];
  lines.on("hold", (cause) => evs.push({ at: Date.now() - t0, kind: "hold", cause }));
  lines.on("release", (r) => evs.push({ at: Date.now() - t0, kind: "release", ...r }));
  return evs;
}

/**
 * A line stream as esptool's CustomReset notation writes it: "D1" / "R0" set one line (one
 * SET-CONTROL, followed by the client's answer wait `perCommandMs`), a bare number waits that long.
 */
function play(lines: ResetLines, steps: string, perCommandMs: number): void {
  for (const s of steps.split(/\s+/).filter(Boolean)) {
    const m = /^([DR])([01])$/.exec(s);
    if (!m) {
      vi.advanceTimersByTime(Number(s));
      continue;
    }
    const on = m[2] === "1";
    const { dtr, rts } = lines.lines;
    if (m[1] === "D") lines.setLines(on, rts);
    else lines.setLines(dtr, on);
    vi.advanceTimersByTime(perCommandMs);
  }
}

/** pyserial's open: DTR and RTS asserted (its defaults), one SET-CONTROL each. */
const PYSERIAL_OPEN = "D1 R1";
/** ClassicReset as esptool sends it over RFC 2217 (each _setRTS repeats DTR for usbser.sys). */
const CLASSIC = "D0 R1 D0 100 D1 R0 D1 50 D0";
/** HardReset (--after hard-reset, non-USB). */
const HARD = "R1 D0 100 R0 D0";
/** USBJTAGSerialReset (--before usb-reset). */
const USB_JTAG = "R0 D0 D0 100 D1 R0 D1 100 R1 D1 D0 R1 D0 100 D0 R0 D0";

function make(circuit: ResetCircuit): { lines: ResetLines; evs: Ev[] } {
  const lines = new ResetLines(circuit);
  return { lines, evs: record(lines) };
}

beforeEach(() => {
  vi.useFakeTimers();
  t0 = Date.now();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("auto-reset circuit", () => {
  for (const [name, perCommandMs] of [
    ["a local port (lines change together)", 0],
    ["RFC 2217, pyserial waiting ~50 ms for each answer", 50],
    ["RFC 2217 with ?ign_set_control (100 ms after each command)", 100],
  ] as const) {
    it(`esptool's ClassicReset ends in download mode: ${name}`, () => {
      const { lines, evs } = make("auto-reset");
      play(lines, `${PYSERIAL_OPEN} ${CLASSIC}`, perCommandMs);
      vi.advanceTimersByTime(1000);
      expect(evs.map((e) => e.kind)).toEqual(["hold", "release"]);
      expect(evs[1]).toMatchObject({ kind: "release", download: true });
      // Released RC-delay after the DTR assertion that started the release, whatever came later.
      const dtrOnAt = 2 * perCommandMs + 3 * perCommandMs + 100;
      expect(evs[1]!.at).toBe(dtrOnAt + EN_RC_MS);
      expect(lines.inReset).toBe(false);
    });
  }

  it("the skewed step is what matters: without recognition DTR=1/RTS=1 would sample the strap high", () => {
    const { lines, evs } = make("auto-reset");
    lines.setLines(false, true); // EN low
    vi.advanceTimersByTime(100);
    lines.setLines(true, true); // DTR rises first
    vi.advanceTimersByTime(50);
    lines.setLines(true, false); // RTS released 50 ms later
    vi.advanceTimersByTime(50);
    expect(evs[1]).toEqual({ at: 105, kind: "release", download: true, recognised: true });
  });

  it("UnixTightReset sent line by line (one SET-CONTROL each) ends in download mode", () => {
    const { lines, evs } = make("auto-reset");
    // (0,0) (1,1) (0,1) 100 ms (1,0) 50 ms (0,0), DTR=0
    play(lines, "D0 R0 D1 R1 D0 R1 100 D1 R0 50 D0 R0 D0", 50);
    vi.advanceTimersByTime(500);
    expect(evs.map((e) => e.kind)).toEqual(["hold", "release"]);
    expect(evs[1]).toMatchObject({ download: true });
  });

  it("HardReset (--after hard-reset) boots the app after holding EN low", () => {
    const { lines, evs } = make("auto-reset");
    play(lines, `${PYSERIAL_OPEN} ${CLASSIC}`, 50);
    vi.advanceTimersByTime(500);
    evs.length = 0;
    t0 = Date.now();
    play(lines, HARD, 50);
    vi.advanceTimersByTime(100);
    expect(evs).toEqual([
      { at: 0, kind: "hold", cause: "lines" },
      { at: 50 + 50 + 100 + EN_RC_MS, kind: "release", download: false },
    ]);
  });

  it("no reset when the lines never pull EN low (--before no-reset, pyserial's open, idle lines)", () => {
    const { lines, evs } = make("auto-reset");
    play(lines, PYSERIAL_OPEN, 50); // DTR=1, then DTR=1/RTS=1: EN stays high
    play(lines, "R0 D0", 50); // back to idle through DTR=1/RTS=0
    play(lines, "D1 100 R1 R0 D0", 20);
    vi.advanceTimersByTime(1000);
    expect(evs).toEqual([]);
    expect(lines.inReset).toBe(false);
  });

  it("EN falling again before the strap is sampled cancels the release", () => {
    const { lines, evs } = make("auto-reset");
    lines.setLines(false, true);
    lines.setLines(false, false);
    vi.advanceTimersByTime(EN_RC_MS - 1);
    lines.setLines(false, true);
    vi.advanceTimersByTime(100);
    expect(evs.map((e) => e.kind)).toEqual(["hold"]);
    expect(lines.inReset).toBe(true);
    lines.setLines(true, false); // straight to strap low (a local port's tight sequence)
    vi.advanceTimersByTime(EN_RC_MS);
    expect(evs[1]).toMatchObject({ kind: "release", download: true });
    expect(evs[1]).not.toHaveProperty("recognised");
  });

  it("the strap is read when sampled: released with DTR=0 and then DTR=1 within the RC delay", () => {
    const { lines, evs } = make("auto-reset");
    lines.setLines(false, true);
    lines.setLines(false, false);
    vi.advanceTimersByTime(2);
    lines.setLines(true, false);
    vi.advanceTimersByTime(EN_RC_MS);
    expect(evs[1]).toMatchObject({ kind: "release", download: true });
  });

  it("strapDownload follows DTR alone; a fault pulse releases with it, unless the lines hold EN", () => {
    const { lines, evs } = make("auto-reset");
    expect(lines.strapDownload()).toBe(false);
    lines.setLines(true, false);
    expect(lines.strapDownload()).toBe(true);
    lines.pulse();
    vi.advanceTimersByTime(EN_RC_MS);
    expect(evs).toEqual([
      { at: 0, kind: "hold", cause: "pulse" },
      { at: EN_RC_MS, kind: "release", download: true },
    ]);
    evs.length = 0;
    lines.setLines(false, true);
    lines.pulse();
    vi.advanceTimersByTime(100);
    expect(evs.map((e) => e.kind)).toEqual(["hold"]);
    lines.setLines(false, false);
    vi.advanceTimersByTime(EN_RC_MS);
    expect(evs[1]).toMatchObject({ kind: "release", download: false });
  });
});

describe("USB-Serial-JTAG circuit", () => {
  for (const perCommandMs of [0, 50, 100]) {
    it(`USBJTAGSerialReset enters download mode (${perCommandMs} ms per command)`, () => {
      const { lines, evs } = make("usb-serial-jtag");
      play(lines, `${PYSERIAL_OPEN} ${USB_JTAG}`, perCommandMs);
      expect(evs.map((e) => e.kind)).toEqual(["hold", "release"]);
      expect(evs[1]).toMatchObject({ download: true });
    });
  }

  it("HardReset boots normally; strapDownload is always false", () => {
    const { lines, evs } = make("usb-serial-jtag");
    play(lines, USB_JTAG, 50);
    evs.length = 0;
    play(lines, "R1 200 R0 200", 50);
    expect(evs.map((e) => e.kind)).toEqual(["hold", "release"]);
    expect(evs[1]).toMatchObject({ download: false });
    lines.setLines(true, false);
    expect(lines.strapDownload()).toBe(false);
  });
});
