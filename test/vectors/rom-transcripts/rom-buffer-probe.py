#!/usr/bin/env python3
"""Probe of the mask ROM's reply buffer and READ_FLASH_SLOW (rsagen, issue 12).

Connects to a chip's UART (QEMU `-serial tcp:HOST:PORT,server=on,wait=on`, strapped to UART
download), waits for the ROM banner, sends a fixed list of ROM loader requests one at a time and
records every reply packet (SLIP removed) that arrives within 300 ms of silence. Writes JSON to
stdout: {"format": "rom-probe/1", "chip": ..., "banner_hex": ..., "steps": [{"name", "request",
"replies": [hex...]}]}. Flash as the probe expects it: payload4k.bin at 0x1000, the rest 0xFF.

Usage: rom-buffer-probe.py CHIP PORT > CHIP-rom-buffer.probe.json
       rom-buffer-probe.py CHIP PORT stub > CHIP-stub.probe.json
The "stub" form probes esptool's flasher stub instead: run `esptool --before no-reset --after
no-reset-stub chip-id` against the chip first (it uploads the stub and leaves it running); the probe
then connects without waiting for a banner.
"""
import json
import socket
import struct
import sys
import time


def slip(packet):
    return b"\xc0" + packet.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc") + b"\xc0"


def unslip(frame):
    return frame.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")


def request(op, data=b"", checksum=0):
    return struct.pack("<BBHI", 0, op, len(data), checksum) + data


class Link:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(0.05)
        self.buf = b""

    def drain(self, quiet=0.3):
        got = b""
        last = time.time()
        while time.time() - last < quiet:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            got += chunk
            last = time.time()
        return got

    def packets(self, raw):
        self.buf += raw
        out = []
        while True:
            start = self.buf.find(b"\xc0")
            if start < 0:
                self.buf = b""
                break
            end = self.buf.find(b"\xc0", start + 1)
            if end < 0:
                self.buf = self.buf[start:]
                break
            body = self.buf[start + 1 : end]
            self.buf = self.buf[end:]
            if body:
                out.append(unslip(body).hex())
        return out


def STUB_STEPS(sync):
    """Requests for the flasher stub; "ack" steps are READ_FLASH acknowledgements, not commands."""
    return [
        ("sync", request(0x08, sync)),
        ("read_reg magic", request(0x0A, struct.pack("<I", 0x40001000))),
        ("unknown op 0x55", request(0x55)),
        ("read_flash_slow", request(0x0E, struct.pack("<II", 0x1000, 16))),
        ("spi_flash_md5 300", request(0x13, struct.pack("<IIII", 0x1000, 300, 0, 0))),
        ("get_security_info", request(0x14)),
        ("erase_region unaligned", request(0xD1, struct.pack("<II", 0x1001, 0x1000))),
        ("read_flash 0x200 in 0x100 packets", request(0xD2, struct.pack("<IIII", 0x1000, 0x200, 0x100, 1))),
        ("ack 0x100", struct.pack("<I", 0x100)),
        ("ack 0x200", struct.pack("<I", 0x200)),
        ("read_reg after read", request(0x0A, struct.pack("<I", 0x40001000))),
        ("flash_end 0 (reboot)", request(0x04, struct.pack("<I", 0))),
        ("sync after flash_end 0", request(0x08, sync)),
    ]


def main():
    chip, port = sys.argv[1], int(sys.argv[2])
    stub = len(sys.argv) > 3 and sys.argv[3] == "stub"
    link = Link(port)
    banner = b"" if stub else link.drain(quiet=1.0)
    sync = b"\x07\x07\x12\x20" + b"\x55" * 32
    steps = STUB_STEPS(sync) if stub else [
        ("sync", request(0x08, sync)),
        ("read_reg magic", request(0x0A, struct.pack("<I", 0x40001000))),
        ("read_flash_slow 16 (fresh buffer)", request(0x0E, struct.pack("<II", 0x1000, 16))),
        ("read_flash_slow 8", request(0x0E, struct.pack("<II", 0x1000, 8))),
        ("read_flash_slow 65 (too long)", request(0x0E, struct.pack("<II", 0x1000, 65))),
        ("read_flash_slow 64", request(0x0E, struct.pack("<II", 0x1000, 64))),
        ("read_reg after read", request(0x0A, struct.pack("<I", 0x40001000))),
        ("spi_flash_md5 300", request(0x13, struct.pack("<IIII", 0x1000, 300, 0, 0))),
        ("read_reg after md5", request(0x0A, struct.pack("<I", 0x40001000))),
        ("get_security_info", request(0x14)),
        ("read_reg after security info", request(0x0A, struct.pack("<I", 0x40001000))),
        (
            "spi_set_params 4MB",
            request(0x0B, struct.pack("<IIIIII", 0, 4 * 1024 * 1024, 64 * 1024, 4096, 256, 0xFFFF)),
        ),
        ("read_flash_slow past the end", request(0x0E, struct.pack("<II", 0x3FFFF0, 64))),
        ("read_flash_slow 36", request(0x0E, struct.pack("<II", 0x1040, 36))),
        ("unknown op 0x55", request(0x55)),
        ("read_flash_slow with an extra word", request(0x0E, struct.pack("<III", 0x1100, 4, 7))),
        ("read_reg last", request(0x0A, struct.pack("<I", 0x40001000))),
    ]
    out = []
    for name, req in steps:
        link.sock.sendall(slip(req))
        out.append({"name": name, "request": req.hex(), "replies": link.packets(link.drain())})
    json.dump(
        {"format": "rom-probe/1", "chip": chip, "banner_hex": banner.hex(), "steps": out},
        sys.stdout,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
