import { afterEach, describe, expect, it, vi } from "vitest";
import { withWriteDeadline, writeDeadlineMs } from "../../src/flash/write-deadline.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("a bound on one serial write", () => {
  it("scales with the wire time: 2 s slack plus 4x the bytes at the baud rate", () => {
    expect(writeDeadlineMs(0, 115200)).toBe(2000);
    // 16 KiB at 115200 baud is 1.42 s on the wire.
    expect(writeDeadlineMs(16384, 115200)).toBe(2000 + Math.ceil((4 * 16384 * 10 * 1000) / 115200));
  });

  it("a write that never finishes ends in E_PORT_LOST naming the port, after the deadline only", async () => {
    vi.useFakeTimers();
    const never = new Promise<void>(() => undefined);
    const result = withWriteDeadline(never, 1000, 115200, "/dev/pts/9").catch((e: unknown) => e);
    const ms = writeDeadlineMs(1000, 115200);
    await vi.advanceTimersByTimeAsync(ms - 1);
    let settled = false;
    void result.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await result;
    expect(err).toMatchObject({ code: "E_PORT_LOST" });
    expect((err as Error).message).toMatch(
      /writing 1000 bytes to \/dev\/pts\/9 did not finish within \d+ ms/,
    );
  });

  it("a write that finishes passes its result through and leaves no timer behind", async () => {
    vi.useFakeTimers();
    await withWriteDeadline(Promise.resolve(), 10, 115200, "p");
    expect(vi.getTimerCount()).toBe(0);
    const failed = await withWriteDeadline(Promise.reject(new Error("EIO")), 10, 115200, "p").catch(
      (e: unknown) => e,
    );
    expect((failed as Error).message).toBe("EIO");
    expect(vi.getTimerCount()).toBe(0);
  });
});
