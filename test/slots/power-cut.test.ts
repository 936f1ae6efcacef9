/**
 * A power cut during a key-slot write leaves the old state or the new one, never half a key: on a
 * board under test with a power-cut knob (the host board: RSAGEN_FW_CRASH_AFTER_FLASH_WRITES, the
 * firmware writes half of its n-th key-partition write or erase, then the board loses power), KEEP
 * of a new slot, KEEP --force over an existing slot, and SLOT_DELETE are cut at every write in
 * turn, n = 1, 2, ... until one runs to the end. After each cut the board powers up again (its mount
 * reclaims what the cut left) and must show exactly the old or exactly the new key, whose signature
 * verifies, another slot untouched, and no sector left holding anything but a live record.
 *
 * The firmware's keys are deterministic (RSAGEN_FW_SEED): the "new" key of every run is the one the
 * uncut run produced, so "exactly the new key" is a byte comparison.
 */
import { constants, createHash, createPublicKey, verify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeviceClient } from "../../src/device/client.js";
import { duplexFromTransport } from "../../src/device/duplex.js";
import { openTransport } from "../../src/serial/open-transport.js";
import type { Transport } from "../../src/serial/transport.js";
import { BOARDS, type BoardUnderTest, KEY_PARTITION } from "./board-under-test.js";

const SECTOR = 0x1000;
const OLD_SEED = "slots-old";
const NEW_SEED = "slots-new";

interface Session {
  board: BoardUnderTest;
  client: DeviceClient;
  transport: Transport;
  close(): Promise<void>;
}

async function connect(board: BoardUnderTest): Promise<Session> {
  const transport = await openTransport(board.url);
  const client = new DeviceClient(duplexFromTransport(transport));
  await client.waitForEvent("boot", 10_000).catch(() => undefined); // may have come before we listened
  await client.hello({ timeoutMs: 2000, retries: 3 });
  return {
    board,
    client,
    transport,
    async close() {
      client.close();
      await transport.close().catch(() => undefined);
      await board.close();
    },
  };
}

async function keepDone(c: DeviceClient, name: string, replace: boolean): Promise<void> {
  await c.keep({ bits: 1024, exponent: 65537, name, replace });
  await c.waitForEvent("done", 30_000);
  await c.release();
}

/** The slot's public key, and proof that its private key is whole: a SIGN that verifies. */
async function slotKey(c: DeviceClient, name: string): Promise<Buffer | undefined> {
  const list = await c.slotListAll();
  if (!list.slots.some((s) => s.name === name)) return undefined;
  const info = await c.slotInfo(name);
  const data = Buffer.from(`power cut check ${name}`);
  await c.sign({ name, scheme: "pss", digest: createHash("sha256").update(data).digest() });
  const done = await c.waitForEvent("done", 30_000);
  const sig = await c.readPart("out", done.status.outLen);
  await c.release();
  const key = createPublicKey({ key: Buffer.from(info.pub), format: "der", type: "spki" });
  expect(verify("sha256", data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)).toBe(
    true,
  );
  return Buffer.from(info.pub);
}

/** Sectors of the key partition that are not erased. */
function usedSectors(part: Uint8Array): number {
  let n = 0;
  for (let s = 0; s < part.length; s += SECTOR)
    if (!part.subarray(s, s + SECTOR).every((b) => b === 0xff)) n++;
  return n;
}

type Op = "keep-new" | "keep-replace" | "delete";

const withKnob = BOARDS.filter((f) => f.name.startsWith("host"));

describe.each(withKnob)("power cut at every key-partition write on the $name", (factory) => {
  beforeAll(() => factory.prepare(), 300_000);
  afterAll(() => factory.cleanup());

  /** The partition before the operation: slot "other", and for replace/delete slot "dev". */
  async function initial(op: Op): Promise<{ part: Uint8Array; other: Buffer; old?: Buffer }> {
    const s = await connect(await factory.start({ seed: OLD_SEED }));
    try {
      await keepDone(s.client, "other", false);
      if (op !== "keep-new") await keepDone(s.client, "dev", false);
      const other = (await slotKey(s.client, "other"))!;
      const old = op === "keep-new" ? undefined : await slotKey(s.client, "dev");
      return { part: s.board.keyPartition().slice(), other, ...(old ? { old } : {}) };
    } finally {
      await s.close();
    }
  }

  /** Runs the operation; resolves "done" when it finished on the board, "no-answer" if it did not. */
  async function run(c: DeviceClient, op: Op): Promise<"done" | "no-answer"> {
    if (op === "delete") {
      // Answered after its last write; a cut eats the answer.
      return c.slotDelete("dev", { timeoutMs: 2500, retries: 0 }).then(
        () => "done" as const,
        () => "no-answer" as const,
      );
    }
    const done = c.waitForEvent("done", 30_000).then(
      () => "done" as const,
      () => "no-answer" as const,
    );
    await c.keep({ bits: 1024, exponent: 65537, name: "dev", replace: op === "keep-replace" });
    return done;
  }

  it.each(["keep-new", "keep-replace", "delete"] as const)("%s", { timeout: 600_000 }, async (op) => {
    const start = await initial(op);
    // The uncut run: the new state.
    let newKey: Buffer | undefined;
    {
      const s = await connect(await factory.start({ seed: NEW_SEED, keyPartition: start.part }));
      try {
        expect(await run(s.client, op)).toBe("done");
        if (op !== "delete") await s.client.release();
        newKey = await slotKey(s.client, "dev");
      } finally {
        await s.close();
      }
    }
    if (op === "delete") expect(newKey).toBeUndefined();
    else expect(newKey).toBeDefined();
    if (op === "keep-replace") expect(newKey!.equals(start.old!)).toBe(false);

    let cuts = 0;
    let sawOld = 0;
    let sawNew = 0;
    for (let n = 1; n <= 60; n++) {
      const s = await connect(
        await factory.start({ seed: NEW_SEED, keyPartition: start.part, cutPowerAtFlashWrite: n }),
      );
      try {
        // The knob counts from this start; after the cut the board must come back without it.
        s.board.cutPowerAtFlashWrite!(undefined);
        const boot = s.client.waitForEvent("boot", 20_000).then(
          () => "cut" as const,
          () => "no-boot" as const,
        );
        const ended = await Promise.race([boot, run(s.client, op)]);
        if (ended === "done") {
          // n is past the operation's last write: every write point has been cut once.
          expect(cuts, `${op}: the operation wrote at least once`).toBeGreaterThan(0);
          break;
        }
        expect(await boot, `${op}, cut at write ${n}: the board came back`).toBe("cut");
        cuts++;
        await s.client.hello({ timeoutMs: 2000, retries: 3 });
        const got = await slotKey(s.client, "dev");
        const old = start.old;
        const isOld = old === undefined ? got === undefined : got?.equals(old) === true;
        const isNew = newKey === undefined ? got === undefined : got?.equals(newKey) === true;
        expect(isOld !== isNew, `${op}, cut at write ${n}: old ${isOld}, new ${isNew}`).toBe(true);
        if (isOld) sawOld++;
        else sawNew++;
        expect(
          (await slotKey(s.client, "other"))!.equals(start.other),
          `${op}, cut at ${n}: other slot`,
        ).toBe(true);
        // The mount reclaimed whatever the cut left: one sector per live slot, nothing else.
        const live = (await s.client.slotListAll()).total;
        expect(usedSectors(s.board.keyPartition()), `${op}, cut at ${n}: sectors in use`).toBe(live);
      } finally {
        await s.close();
      }
    }
    expect(cuts).toBeGreaterThan(0);
    console.log(`power cut sweep on the board, ${op}: ${cuts} write points, ${sawOld} old, ${sawNew} new`);
    // Before its commit block a new record is nothing; the delete is done by its first write.
    if (op === "delete") expect(sawOld).toBeLessThanOrEqual(1);
    else expect(sawOld).toBeGreaterThan(0);
    expect(sawNew).toBeGreaterThan(0);
    expect(KEY_PARTITION.size / SECTOR).toBe(16);
  });
});
