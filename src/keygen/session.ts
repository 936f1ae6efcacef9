/** Opening a board on a port for keygen/info, and closing everything we opened. */
import { openTransport, type Transport } from "../serial/transport.js";
import { FrameBoard, type FrameBoardOptions } from "./frame-board.js";

export interface BoardSession {
  board: FrameBoard;
  transport: Transport;
  close(): Promise<void>;
}

export async function openBoard(port: string, baud = 115200, opts: FrameBoardOptions = {}): Promise<BoardSession> {
  const transport = await openTransport(port, { baud });
  const board = new FrameBoard(transport, opts);
  return {
    board,
    transport,
    async close() {
      await board.close();
      await transport.close().catch(() => {});
    },
  };
}
