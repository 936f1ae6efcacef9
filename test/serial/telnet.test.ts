import { describe, expect, it } from "vitest";
import { encodeComPort } from "../../src/serial/rfc2217-protocol.js";
import {
  answerNegotiation,
  DO,
  DONT,
  encodeSubnegotiation,
  escapeIac,
  IAC,
  SB,
  SE,
  TelnetOptionState,
  TelnetParser,
  WILL,
  WONT,
} from "../../src/serial/telnet.js";

describe("telnet framing", () => {
  it("doubles 0xFF and the parser undoes it, whatever the chunking", () => {
    const data = Uint8Array.of(1, 0xff, 2, 0xff, 0xff, 3);
    const wire = Uint8Array.of(
      ...escapeIac(data),
      ...encodeSubnegotiation(44, Uint8Array.of(101, 0, 0, 0xff, 0xff)),
      IAC,
      WILL,
      44,
      9,
    );
    expect(Array.from(escapeIac(data))).toEqual([1, 0xff, 0xff, 2, 0xff, 0xff, 0xff, 0xff, 3]);
    for (let split = 0; split <= wire.length; split++) {
      const p = new TelnetParser();
      const events = [...p.feed(wire.subarray(0, split)), ...p.feed(wire.subarray(split))];
      const bytes = events.flatMap((e) => (e.kind === "data" ? Array.from(e.bytes) : []));
      expect(bytes).toEqual([1, 0xff, 2, 0xff, 0xff, 3, 9]);
      const sb = events.find((e) => e.kind === "subnegotiation");
      expect(sb && sb.kind === "subnegotiation" ? [sb.option, ...sb.payload] : []).toEqual([
        44, 101, 0, 0, 0xff, 0xff,
      ]);
      expect(events.filter((e) => e.kind === "negotiate")).toEqual([
        { kind: "negotiate", verb: WILL, option: 44 },
      ]);
    }
  });

  it("the subnegotiation encoder frames IAC SB opt ... IAC SE", () => {
    expect(Array.from(encodeSubnegotiation(44, Uint8Array.of(5, 8)))).toEqual([IAC, SB, 44, 5, 8, IAC, SE]);
  });

  it("option state answers only on changes (no negotiation loops)", () => {
    const we = new TelnetOptionState(0, "we", true);
    expect(we.request()).toBe(WILL);
    expect(we.request()).toBeNull();
    expect(we.receive(DO)).toBeNull(); // the answer to our request
    expect(we.enabled).toBe(true);
    expect(we.receive(DO)).toBeNull(); // repeated: no reply

    const refusing = new TelnetOptionState(3, "they", false);
    expect(refusing.receive(WILL)).toBe(254); // DONT

    const asked = new TelnetOptionState(44, "they", true);
    asked.request();
    expect(asked.receive(WONT)).toBeNull();
    expect(asked.rejected).toBe(true);
  });

  it("answers unknown options by refusing positive requests only, known ones by their state", () => {
    const binary = new TelnetOptionState(0, "they", true);
    expect(answerNegotiation([binary], DO, 24)).toEqual({
      state: undefined,
      reply: Uint8Array.of(IAC, WONT, 24),
    });
    expect(answerNegotiation([binary], WILL, 24).reply).toEqual(Uint8Array.of(IAC, DONT, 24));
    expect(answerNegotiation([binary], DONT, 24).reply).toBeNull();
    expect(answerNegotiation([binary], WONT, 24).reply).toBeNull();
    const r = answerNegotiation([binary], WILL, 0);
    expect(r.state).toBe(binary);
    expect(r.reply).toEqual(Uint8Array.of(IAC, DO, 0));
    expect(binary.enabled).toBe(true);
  });

  it("a COM-PORT-OPTION message is code then value inside IAC SB 44 ... IAC SE, 0xFF doubled", () => {
    expect(Array.from(encodeComPort(101, Uint8Array.of(0, 0, 0xff)))).toEqual([
      IAC,
      SB,
      44,
      101,
      0,
      0,
      IAC,
      IAC,
      IAC,
      SE,
    ]);
  });
});
