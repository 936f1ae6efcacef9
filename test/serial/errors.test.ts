import { describe, expect, it } from "vitest";
import { openError } from "../../src/serial/serialport-transport.js";

// serialport 13 reports errno only as text; these are its messages for open() failures.
describe("serialport open errors -> RsagenError", () => {
  it("maps ENOENT, EACCES and a locked port to distinct, hinted errors", () => {
    const enoent = openError(
      "/dev/ttyUSB0",
      new Error("Error: No such file or directory, cannot open /dev/ttyUSB0"),
    );
    expect([enoent.code, enoent.exitCode]).toEqual(["E_NO_PORT", 10]);

    const eacces = openError("/dev/ttyUSB0", new Error("Error: Permission denied, cannot open /dev/ttyUSB0"));
    expect(eacces.code).toBe("E_PORT_PERMISSION");
    expect(eacces.hint).toBe(
      "add yourself to the dialout group: `sudo usermod -aG dialout $USER`, then log out and back in",
    );

    const busy = openError(
      "/dev/ttyUSB0",
      new Error("Error Resource temporarily unavailable Cannot lock port"),
    );
    expect(busy.code).toBe("E_NO_PORT");
    expect(busy.message).toBe("serial port /dev/ttyUSB0 is busy");
    expect(busy.hint).toMatch(/another program/);

    const other = openError("/dev/ttyUSB0", new Error("Error: Input/output error, cannot open /dev/ttyUSB0"));
    expect(other.message).toBe("cannot open /dev/ttyUSB0: Input/output error, cannot open /dev/ttyUSB0");
  });
});
