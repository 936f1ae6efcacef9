export * from "./packet.js";
export * from "./slip.js";
