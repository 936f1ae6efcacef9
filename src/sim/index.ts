/** The virtual board (contract C6). */
export {
  Board,
  type BoardFaults,
  type BoardOptions,
  type ChipState,
  ESP_RST,
  macFromSeed,
  startBoard,
} from "./board.js";
export { FileFlash, type FlashBackend, MemoryFlash, parseFlashSize } from "./flash.js";
export {
  EN_RC_MS,
  type ResetCircuit,
  ResetLines,
  type ResetLinesEvents,
  type ResetRelease,
} from "./reset-lines.js";
export { type LoaderAction, RomLoader } from "./rom-loader.js";
