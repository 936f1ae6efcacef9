import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RsagenError } from "../../src/errors.js";
import { choosePort, listPorts, type PortCandidate, resolvePort } from "../../src/serial/ports.js";

let sys: string;
beforeEach(async () => {
  sys = await mkdtemp(path.join(tmpdir(), "rsagen-sys-"));
  await mkdir(path.join(sys, "class", "tty"), { recursive: true });
});
afterEach(async () => {
  await rm(sys, { recursive: true, force: true });
});

/** Lays out a USB serial device the way Linux does: …/usb1/<dev>/<dev>:1.0/<tty>, class/tty/<tty>/device -> it. */
async function usbTty(
  tty: string,
  dev: string,
  attrs: { idVendor: string; idProduct: string; manufacturer?: string; product?: string; serial?: string },
) {
  const usbDir = path.join(sys, "devices", "pci0000:00", "0000:00:14.0", "usb1", dev);
  const ifaceTty = path.join(usbDir, `${dev}:1.0`, tty);
  await mkdir(ifaceTty, { recursive: true });
  for (const [k, v] of Object.entries(attrs))
    if (v !== undefined) await writeFile(path.join(usbDir, k), `${v}\n`);
  // Interface directories have no idVendor; the walk must go past them.
  await writeFile(path.join(usbDir, `${dev}:1.0`, "bInterfaceClass"), "ff\n");
  await mkdir(path.join(sys, "class", "tty", tty));
  await symlink(ifaceTty, path.join(sys, "class", "tty", tty, "device"));
}

async function legacyTty(tty: string) {
  const dev = path.join(sys, "devices", "platform", "serial8250", tty);
  const driver = path.join(sys, "bus", "platform", "drivers", "serial8250");
  await mkdir(dev, { recursive: true });
  await mkdir(driver, { recursive: true });
  await symlink(driver, path.join(dev, "driver"));
  await mkdir(path.join(sys, "class", "tty", tty));
  await symlink(dev, path.join(sys, "class", "tty", tty, "device"));
}

describe("port discovery from sysfs", () => {
  it("reads VID/PID/manufacturer/serial, skips virtual and legacy 8250 ttys, names known bridges", async () => {
    await usbTty("ttyUSB0", "1-1", {
      idVendor: "10c4",
      idProduct: "ea60",
      manufacturer: "Silicon Labs",
      product: "CP2102N USB to UART Bridge Controller",
      serial: "0001",
    });
    await usbTty("ttyUSB1", "1-2", { idVendor: "067b", idProduct: "2303", manufacturer: "Prolific" });
    await legacyTty("ttyS0");
    await mkdir(path.join(sys, "class", "tty", "tty0")); // virtual console, no device
    const ports = await listPorts({ sysRoot: sys, devRoot: "/dev" });
    expect(ports).toEqual([
      {
        path: "/dev/ttyUSB0",
        vid: 0x10c4,
        pid: 0xea60,
        manufacturer: "Silicon Labs",
        product: "CP2102N USB to UART Bridge Controller",
        serialNumber: "0001",
        bridge: "Silicon Labs CP210x",
      },
      { path: "/dev/ttyUSB1", vid: 0x067b, pid: 0x2303, manufacturer: "Prolific" },
    ]);
    expect(choosePort(ports).path).toBe("/dev/ttyUSB0");
    expect(await resolvePort(undefined, { sysRoot: sys })).toEqual({
      path: "/dev/ttyUSB0",
      usb: { vid: 0x10c4, pid: 0xea60 },
    });
    // An explicit port wins and still gets its USB identity when discovery knows it.
    expect(await resolvePort("/dev/ttyUSB1", { sysRoot: sys })).toEqual({
      path: "/dev/ttyUSB1",
      usb: { vid: 0x067b, pid: 0x2303 },
    });
  });

  it("finds the ESP32-S3/C3/C6 USB-Serial-JTAG (ttyACM)", async () => {
    await usbTty("ttyACM0", "3-4", { idVendor: "303a", idProduct: "1001", manufacturer: "Espressif" });
    const chosen = choosePort(await listPorts({ sysRoot: sys }));
    expect(chosen).toMatchObject({ path: "/dev/ttyACM0", bridge: "Espressif USB-Serial/JTAG" });
  });

  it("no known bridge -> E_NO_PORT listing the candidates and hinting --port", async () => {
    await usbTty("ttyUSB1", "1-2", { idVendor: "067b", idProduct: "2303" });
    const err = (() => {
      try {
        return choosePort([{ path: "/dev/ttyUSB1", vid: 0x067b, pid: 0x2303 }]);
      } catch (e) {
        return e;
      }
    })() as RsagenError;
    expect(err).toBeInstanceOf(RsagenError);
    expect(err.code).toBe("E_NO_PORT");
    expect(err.message).toContain("/dev/ttyUSB1 067b:2303");
    expect(err.hint).toContain("--port");
    await expect(resolvePort(undefined, { sysRoot: sys })).rejects.toMatchObject({ code: "E_NO_PORT" });
  });

  it("nothing at all -> E_NO_PORT", async () => {
    await expect(resolvePort(undefined, { sysRoot: sys })).rejects.toThrow(
      /no ESP32 board found \(serial ports: none\)/,
    );
  });

  it("several boards -> E_NO_PORT naming each", () => {
    const two: PortCandidate[] = [
      { path: "/dev/ttyUSB0", vid: 0x1a86, pid: 0x7523, bridge: "WCH CH340" },
      { path: "/dev/ttyACM0", vid: 0x303a, pid: 0x1001, bridge: "Espressif USB-Serial/JTAG" },
    ];
    expect(() => choosePort(two)).toThrow(
      /several boards found: \/dev\/ttyUSB0 1a86:7523 WCH CH340, \/dev\/ttyACM0/,
    );
  });

  it("an rfc2217 --port is taken as is, without discovery", async () => {
    expect(await resolvePort("rfc2217://localhost:4000", { sysRoot: sys })).toEqual({
      path: "rfc2217://localhost:4000",
    });
  });
});
