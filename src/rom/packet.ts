/**
 * ESP ROM loader / flasher stub packet codec (esptool v5.3.0: docs/en/advanced-topics/serial-protocol.rst
 * and esptool/loader.py ESP_CMDS).
 *
 * Command (host -> chip): 00, op u8, data length u16 LE, checksum u32 LE, data.
 * Response (chip -> host): 01, op u8, data length u16 LE, value u32 LE, data (which ends with the
 * status bytes: 4 from the ESP32-family ROMs, 2 from the flasher stub).
 */

export const Op = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  READ_FLASH_SLOW: 0x0e,
  CHANGE_BAUDRATE: 0x0f,
  FLASH_DEFL_BEGIN: 0x10,
  FLASH_DEFL_DATA: 0x11,
  FLASH_DEFL_END: 0x12,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
  RUN_USER_CODE: 0xd3,
} as const;
export type OpName = keyof typeof Op;

export function opName(op: number): string {
  for (const [name, code] of Object.entries(Op)) if (code === op) return name;
  return `0x${op.toString(16).padStart(2, "0")}`;
}

/** ROM loader error codes (serial-protocol.rst, "ROM loader errors"). */
export const RomError = {
  INVALID_MESSAGE: 0x05,
  FAILED: 0x06,
  INVALID_CRC: 0x07,
  FLASH_WRITE: 0x08,
  FLASH_READ: 0x09,
  READ_LENGTH: 0x0a,
  DEFLATE: 0x0b,
} as const;

/** Flasher stub error codes (esptool flasher_stub/include/stub_flasher.h esp_command_error). */
export const StubError = {
  BAD_DATA_LEN: 0xc0,
  BAD_DATA_CHECKSUM: 0xc1,
  BAD_BLOCKSIZE: 0xc2,
  INVALID_COMMAND: 0xc3,
  FAILED_SPI_OP: 0xc4,
  FAILED_SPI_UNLOCK: 0xc5,
  NOT_IN_FLASH_MODE: 0xc6,
  INFLATE_ERROR: 0xc7,
  NOT_ENOUGH_DATA: 0xc8,
  TOO_MUCH_DATA: 0xc9,
  CMD_NOT_IMPLEMENTED: 0xff,
} as const;

/** The SYNC payload: 07 07 12 20 followed by 32 x 0x55. */
export const SYNC_PAYLOAD: Uint8Array = Uint8Array.from([
  0x07,
  0x07,
  0x12,
  0x20,
  ...new Array(32).fill(0x55),
]);

/** Seed of the data checksum (MEM_DATA, FLASH_DATA, FLASH_DEFL_DATA). */
export const CHECKSUM_SEED = 0xef;

/** XOR checksum over the payload that follows the 16-byte data sub-header. */
export function romChecksum(data: Uint8Array, seed = CHECKSUM_SEED): number {
  let c = seed;
  for (const b of data) c ^= b;
  return c;
}

export interface RomCommand {
  op: number;
  checksum: number;
  data: Uint8Array;
}

export interface RomResponse {
  op: number;
  value: number;
  /** Response data including the trailing status bytes. */
  data: Uint8Array;
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export function encodeCommand(op: number, data: Uint8Array = new Uint8Array(0), checksum = 0): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const v = new DataView(out.buffer);
  out[0] = 0x00;
  out[1] = op & 0xff;
  v.setUint16(2, data.length, true);
  v.setUint32(4, checksum >>> 0, true);
  out.set(data, 8);
  return out;
}

export function decodeCommand(packet: Uint8Array): DecodeResult<RomCommand> {
  if (packet.length < 8)
    return { ok: false, reason: `packet of ${packet.length} bytes is shorter than a header` };
  if (packet[0] !== 0x00)
    return { ok: false, reason: `direction byte 0x${packet[0]!.toString(16)} is not a request` };
  const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const len = v.getUint16(2, true);
  if (len !== packet.length - 8) {
    return { ok: false, reason: `length field ${len} does not match ${packet.length - 8} data bytes` };
  }
  return { ok: true, value: { op: packet[1]!, checksum: v.getUint32(4, true), data: packet.subarray(8) } };
}

export function encodeResponse(op: number, value: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const v = new DataView(out.buffer);
  out[0] = 0x01;
  out[1] = op & 0xff;
  v.setUint16(2, data.length, true);
  v.setUint32(4, value >>> 0, true);
  out.set(data, 8);
  return out;
}

export function decodeResponse(packet: Uint8Array): DecodeResult<RomResponse> {
  if (packet.length < 8)
    return { ok: false, reason: `packet of ${packet.length} bytes is shorter than a header` };
  if (packet[0] !== 0x01)
    return { ok: false, reason: `direction byte 0x${packet[0]!.toString(16)} is not a response` };
  const v = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  return { ok: true, value: { op: packet[1]!, value: v.getUint32(4, true), data: packet.subarray(8) } };
}

/**
 * Status of a response, read at `dataLen` (the expected data length) rather than from the end, so
 * 4-byte ROM status and 2-byte stub status both parse (esptool v5.3.0 esptool/loader.py check_command).
 */
export function responseStatus(
  resp: RomResponse,
  dataLen = 0,
): { status: number; error: number } | undefined {
  const s = resp.data[dataLen];
  const e = resp.data[dataLen + 1];
  if (s === undefined || e === undefined) return undefined;
  return { status: s, error: e };
}

/** Little-endian u32 words of a command's data (trailing partial word ignored). */
export function words(data: Uint8Array): number[] {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= data.length; i += 4) out.push(v.getUint32(i, true));
  return out;
}

export function u32le(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  for (const [i, x] of values.entries()) v.setUint32(i * 4, x >>> 0, true);
  return out;
}

/** Data sub-header of FLASH_DATA / FLASH_DEFL_DATA / MEM_DATA: size, seq, 0, 0, then the block. */
export function encodeDataBlock(seq: number, block: Uint8Array): { data: Uint8Array; checksum: number } {
  const data = new Uint8Array(16 + block.length);
  data.set(u32le(block.length, seq, 0, 0), 0);
  data.set(block, 16);
  return { data, checksum: romChecksum(block) };
}
