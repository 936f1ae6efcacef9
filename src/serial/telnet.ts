/**
 * Telnet framing as RFC 2217 uses it: option negotiation (RFC 854/855), subnegotiation and
 * IAC doubling of 0xFF in the data stream. Shared by the RFC 2217 client and server.
 *
 * Sources: RFC 854 (command codes IAC=255, DONT=254, DO=253, WONT=252, WILL=251, SB=250, SE=240),
 * RFC 856 (BINARY=0), RFC 857 (ECHO=1), RFC 858 (SUPPRESS-GO-AHEAD=3), RFC 2217 (COM-PORT-OPTION=44).
 */

export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const SE = 240;

export const OPT_BINARY = 0;
export const OPT_ECHO = 1;
export const OPT_SGA = 3;
export const OPT_COM_PORT = 44;

export type NegotiationVerb = typeof DO | typeof DONT | typeof WILL | typeof WONT;

/** What the parser found in the byte stream, in order. */
export type TelnetEvent =
  | { kind: "data"; bytes: Uint8Array }
  | { kind: "negotiate"; verb: NegotiationVerb; option: number }
  | { kind: "subnegotiation"; option: number; payload: Uint8Array }
  | { kind: "command"; code: number };

/** Doubles every 0xFF so that data bytes are never taken for IAC (RFC 854). */
export function escapeIac(data: Uint8Array): Uint8Array {
  if (data.indexOf(IAC) < 0) return data;
  let count = 0;
  for (const b of data) if (b === IAC) count++;
  const out = new Uint8Array(data.length + count);
  let j = 0;
  for (const b of data) {
    out[j++] = b;
    if (b === IAC) out[j++] = IAC;
  }
  return out;
}

export function encodeNegotiation(verb: NegotiationVerb, option: number): Uint8Array {
  return Uint8Array.of(IAC, verb, option);
}

/** IAC SB <option> <payload, IAC doubled> IAC SE. */
export function encodeSubnegotiation(option: number, payload: Uint8Array): Uint8Array {
  const body = escapeIac(payload);
  const out = new Uint8Array(body.length + 5);
  out.set([IAC, SB, option], 0);
  out.set(body, 3);
  out.set([IAC, SE], 3 + body.length);
  return out;
}

enum State {
  Data,
  Iac,
  Verb,
  SbOption,
  SbData,
  SbIac,
}

/**
 * Incremental parser: feed socket chunks in any split (an IAC pair or a subnegotiation may be cut
 * across chunks) and get data runs and telnet commands back in stream order.
 */
export class TelnetParser {
  private state = State.Data;
  private verb: NegotiationVerb = DO;
  private sbOption = 0;
  private sbBytes: number[] = [];

  feed(chunk: Uint8Array): TelnetEvent[] {
    const events: TelnetEvent[] = [];
    // Data runs are collected as subarrays of the chunk (no per-byte copying on the hot path).
    let runs: Uint8Array[] = [];
    const flushRuns = () => {
      if (runs.length === 1) events.push({ kind: "data", bytes: runs[0]!.slice() });
      else if (runs.length > 1) events.push({ kind: "data", bytes: concat(runs) });
      runs = [];
    };
    let i = 0;
    while (i < chunk.length) {
      if (this.state === State.Data) {
        const next = chunk.indexOf(IAC, i);
        const end = next < 0 ? chunk.length : next;
        if (end > i) runs.push(chunk.subarray(i, end));
        if (next < 0) break;
        this.state = State.Iac;
        i = next + 1;
        continue;
      }
      const b = chunk[i++]!;
      switch (this.state) {
        case State.Iac:
          if (b === IAC) {
            runs.push(IAC_BYTE);
            this.state = State.Data;
          } else if (b === DO || b === DONT || b === WILL || b === WONT) {
            this.verb = b;
            this.state = State.Verb;
          } else if (b === SB) {
            this.state = State.SbOption;
          } else {
            // NOP, GA, AYT...: nothing to do for a serial port, report and go on.
            flushRuns();
            events.push({ kind: "command", code: b });
            this.state = State.Data;
          }
          break;
        case State.Verb:
          flushRuns();
          events.push({ kind: "negotiate", verb: this.verb, option: b });
          this.state = State.Data;
          break;
        case State.SbOption:
          this.sbOption = b;
          this.sbBytes = [];
          this.state = State.SbData;
          break;
        case State.SbData:
          if (b === IAC) this.state = State.SbIac;
          else this.sbBytes.push(b);
          break;
        case State.SbIac:
          if (b === IAC) {
            this.sbBytes.push(IAC);
            this.state = State.SbData;
          } else if (b === SE) {
            flushRuns();
            events.push({
              kind: "subnegotiation",
              option: this.sbOption,
              payload: Uint8Array.from(this.sbBytes),
            });
            this.sbBytes = [];
            this.state = State.Data;
          } else {
            // Malformed (IAC x inside SB): keep going, as lenient servers do.
            this.state = State.SbData;
          }
          break;
      }
    }
    flushRuns();
    return events;
  }
}

const IAC_BYTE = Uint8Array.of(IAC);

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * One side's view of a telnet option in one direction ("we" = we perform it, answered by DO/DONT;
 * "they" = the peer performs it, answered by WILL/WONT). Answers only on state changes, which is
 * what keeps two such machines from looping (RFC 854, "Telnet option negotiation").
 */
export class TelnetOptionState {
  enabled = false;
  /** The peer answered our request with DONT/WONT. */
  rejected = false;
  private requested = false;

  constructor(
    readonly option: number,
    readonly side: "we" | "they",
    private readonly accept: boolean,
  ) {}

  /** The verb that asks the peer to enable this option (or null if we already did). */
  request(): NegotiationVerb | null {
    if (this.enabled || this.requested) return null;
    this.requested = true;
    return this.side === "we" ? WILL : DO;
  }

  /** Handles an incoming verb for this option; returns the reply to send, if any. */
  receive(verb: NegotiationVerb): NegotiationVerb | null {
    const positive = this.side === "we" ? DO : WILL;
    const negative = this.side === "we" ? DONT : WONT;
    const yes = this.side === "we" ? WILL : DO;
    const no = this.side === "we" ? WONT : DONT;
    if (verb === positive) {
      if (this.requested) {
        this.requested = false;
        this.enabled = true;
        return null;
      }
      if (this.enabled) return null;
      if (!this.accept) return no;
      this.enabled = true;
      return yes;
    }
    if (verb === negative) {
      const wasEnabled = this.enabled;
      const wasRequested = this.requested;
      this.enabled = false;
      this.requested = false;
      if (wasRequested) this.rejected = true;
      return wasEnabled && !wasRequested ? no : null;
    }
    return null;
  }
}

/** The verbs that concern "we" (DO/DONT) vs "they" (WILL/WONT). */
export function sideOf(verb: NegotiationVerb): "we" | "they" {
  return verb === DO || verb === DONT ? "we" : "they";
}

/**
 * Handles a peer's verb about `option` (both RFC 2217 ends): the option's state machine when we
 * track it; otherwise a refusal of positive requests only (answering a refusal would loop).
 * Returns the tracked state (undefined for an unknown option) and the bytes to send, if any.
 */
export function answerNegotiation(
  options: readonly TelnetOptionState[],
  verb: NegotiationVerb,
  option: number,
): { state: TelnetOptionState | undefined; reply: Uint8Array | null } {
  const state = options.find((o) => o.option === option && o.side === sideOf(verb));
  const answer = state ? state.receive(verb) : verb === DO ? WONT : verb === WILL ? DONT : null;
  return { state, reply: answer === null ? null : encodeNegotiation(answer, option) };
}
