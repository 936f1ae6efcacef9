/**
 * A fake /sys tree with USB serial devices, laid out as Linux does (the fixture mechanism of
 * src/serial/ports.ts's tests): class/tty/<tty>/device -> …/usb1/<dev>/<dev>:1.0/<tty>, with
 * idVendor/idProduct in the USB device directory. Device nodes go in a separate dev dir; a node may
 * be a symlink to a real pty so the detected port can be opened.
 */
import { mkdir, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export interface FakeSysfs {
  sysRoot: string;
  devRoot: string;
  root: string;
}

export async function fakeSysfs(): Promise<FakeSysfs> {
  const root = await mkdtemp(path.join(tmpdir(), "rsagen-sysfs-"));
  const sysRoot = path.join(root, "sys");
  const devRoot = path.join(root, "dev");
  await mkdir(path.join(sysRoot, "class", "tty"), { recursive: true });
  await mkdir(devRoot);
  return { root, sysRoot, devRoot };
}

export async function addUsbTty(
  fs: FakeSysfs,
  tty: string,
  usbDev: string,
  ids: { vid: number; pid: number },
  node?: string,
): Promise<void> {
  const usbDir = path.join(fs.sysRoot, "devices", "pci0000:00", "0000:00:14.0", "usb1", usbDev);
  const ttyDir = path.join(usbDir, `${usbDev}:1.0`, tty);
  await mkdir(ttyDir, { recursive: true });
  const hex = (n: number) => `${n.toString(16).padStart(4, "0")}\n`;
  await writeFile(path.join(usbDir, "idVendor"), hex(ids.vid));
  await writeFile(path.join(usbDir, "idProduct"), hex(ids.pid));
  await mkdir(path.join(fs.sysRoot, "class", "tty", tty));
  await symlink(ttyDir, path.join(fs.sysRoot, "class", "tty", tty, "device"));
  if (node) await symlink(node, path.join(fs.devRoot, tty));
}
