/**
 * The registers esptool and esptool-js read and write in download mode, per target: chip magic,
 * eFuse words (MAC, package, revision), UART clock divider (crystal detection) and the SPI flash
 * controller's user-command registers, through which RDID (flash id) runs.
 *
 * Addresses: esptool targets/*.py and esptool-js 0.7.0 lib/targets/*.js (EFUSE_BASE, MAC_EFUSE_REG,
 * UART_CLKDIV_REG, SPI_REG_BASE and the SPI_*_OFFS values). Initial values: what the real mask ROMs
 * returned under QEMU in test/vectors/rom-transcripts (blank eFuses), or 0 where nothing is known.
 */
import type { TargetName } from "../targets.js";

interface SpiRegs {
  base: number;
  usr: number;
  usr2: number;
  w0: number;
}

interface ChipRegs {
  spi: SpiRegs;
  /** Word holding MAC bytes 2..5 (big-endian order in the word); the next word holds bytes 0..1. */
  macLo: number;
  macHi: number;
  initial: Record<number, number>;
}

const UART_CLKDIV_115200_40MHZ = 0x15a; // 40 MHz / 115200 = 347.2 -> 0x15a, esptool computes 40 MHz

/** SPI user-command registers of the SPI1 (flash) controller. */
const SPI_MEM: SpiRegs = { base: 0, usr: 0x18, usr2: 0x20, w0: 0x58 };

export const CHIP_REGS: Record<TargetName, ChipRegs> = {
  esp32: {
    spi: { base: 0x3ff42000, usr: 0x1c, usr2: 0x24, w0: 0x80 },
    macLo: 0x3ff5a004,
    macHi: 0x3ff5a008,
    initial: {
      1073745920: 0x00f01d83, // chip magic
      1073111164: 0x96042000, // APB_CTL_DATE (QEMU transcript esp32-chip-id.json@20)
      1072955412: UART_CLKDIV_115200_40MHZ, // UART0 CLKDIV (transcript @34)
      1072971832: 0x0000000f, // GPIO_STRAP: UART download strapping (transcript esp32-flash-id @186)
      1072963620: 0x40000000, // SPI_USER2 reset value as read from QEMU
    },
  },
  esp32s2: {
    spi: { ...SPI_MEM, base: 0x3f402000 },
    macLo: 0x3f41a044,
    macHi: 0x3f41a048,
    initial: {
      1073745920: 0x000007c6,
      1061158932: UART_CLKDIV_115200_40MHZ,
      1061167128: 0x800000c0,
      1061167136: 0x70000000,
    },
  },
  esp32s3: {
    spi: { ...SPI_MEM, base: 0x60002000 },
    macLo: 0x60007044,
    macHi: 0x60007048,
    initial: {
      1073745920: 0x00000009,
      1610612756: UART_CLKDIV_115200_40MHZ,
      1610620952: 0x800000c0,
      1610620960: 0x70000000,
    },
  },
  esp32c3: {
    spi: { ...SPI_MEM, base: 0x60002000 },
    macLo: 0x60008844,
    macHi: 0x60008848,
    initial: {
      1073745920: 0x1b31506f,
      1610647632: 0x000c0000, // eFuse block1 word3: wafer minor revision 3 (transcript @14)
      1610612756: UART_CLKDIV_115200_40MHZ,
      1072955412: UART_CLKDIV_115200_40MHZ, // esptool-js 0.7.0 reads this address on C3
      1610620952: 0x800000c0, // SPI_MEM_USER (transcript esp32c3-flash-id @30)
      1610620960: 0x70000000, // SPI_MEM_USER2 (@32)
    },
  },
  esp32c6: {
    spi: { ...SPI_MEM, base: 0x60003000 },
    macLo: 0x600b0844,
    macHi: 0x600b0848,
    initial: {
      1073745920: 0x2ce0806f,
      1610612756: UART_CLKDIV_115200_40MHZ,
      1072955412: UART_CLKDIV_115200_40MHZ, // esptool-js 0.7.0 reads this address on C6
      1610625048: 0x800000c0,
      1610625056: 0x70000000,
    },
  },
};

/** SPI_CMD register bit that starts a user-defined command (SPI_USR, bit 18). */
const SPI_CMD_USR = 1 << 18;
const SPIFLASH_RDID = 0x9f;

/** JEDEC id as RDID returns it in W0: manufacturer 0xC8 (GigaDevice), type 0x40, capacity log2(size). */
export function jedecId(flashSize: number): number {
  const capacity = Math.round(Math.log2(flashSize));
  return ((capacity & 0xff) << 16) | (0x40 << 8) | 0xc8;
}

export class RegisterFile {
  private readonly regs = new Map<number, number>();
  private readonly chip: ChipRegs;

  constructor(
    target: TargetName,
    private readonly flashSize: number,
    mac: Uint8Array,
  ) {
    this.chip = CHIP_REGS[target];
    for (const [addr, value] of Object.entries(this.chip.initial)) this.regs.set(Number(addr), value >>> 0);
    // MAC words as esptool reads them back: lo = mac[2..5], hi low half = mac[0..1].
    const lo = ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0;
    const hi = ((mac[0]! << 8) | mac[1]!) >>> 0;
    this.regs.set(this.chip.macLo, lo);
    this.regs.set(this.chip.macHi, (this.regs.get(this.chip.macHi) ?? 0) | hi);
  }

  read(addr: number): number {
    return this.regs.get(addr >>> 0) ?? 0;
  }

  write(addr: number, value: number, mask = 0xffffffff): void {
    const a = addr >>> 0;
    const old = this.regs.get(a) ?? 0;
    const next = ((old & ~mask) | (value & mask)) >>> 0;
    const spi = this.chip.spi;
    if (a === spi.base && next & SPI_CMD_USR) {
      this.runUserCommand();
      // The controller clears SPI_USR when the command has finished; esptool polls for that.
      this.regs.set(a, (next & ~SPI_CMD_USR) >>> 0);
      return;
    }
    this.regs.set(a, next);
  }

  /** Executes the flash command in USR2 (low 16 bits); only RDID produces data here. */
  private runUserCommand(): void {
    const spi = this.chip.spi;
    const command = this.read(spi.base + spi.usr2) & 0xffff;
    if (command === SPIFLASH_RDID) this.regs.set(spi.base + spi.w0, jedecId(this.flashSize));
    // Other commands (SFDP 0x5A, reset 0x66/0x99, status reads) leave W0 as written, which is what
    // the ROM transcripts show for QEMU's flash model (W0 reads back 0).
  }

  setUartClockDivider(baud: number): void {
    for (const addr of [0x3ff40014, 0x3f400014, 0x60000014]) {
      if (this.regs.has(addr)) this.regs.set(addr, Math.round(40_000_000 / baud) & 0xfffff);
    }
  }
}
