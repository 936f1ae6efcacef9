/** Opening a board on a port for keygen/info, and closing everything we opened. */
import { openTransport } from "../serial/open-transport.js";
import type { Transport } from "../serial/transport.js";
import { ClientBoard } from "./client-board.js";

export interface BoardSession {
  board: ClientBoard;
  transport: Transport;
  close(): Promise<void>;
}

export async function openBoard(port: string, baud = 115200): Promise<BoardSession> {
  const transport = await openTransport(port, { baud });
  const board = new ClientBoard(transport);
  return {
    board,
    transport,
    async close() {
      await board.close();
      await transport.close().catch(() => {});
    },
  };
}
