/** The MySQL packets the simulator writes that mysql2's server side cannot write as Hyperdrive does. */
import { createHash } from "node:crypto";

/** Command bytes (COM_*). */
export const Command = {
  Quit: 0x01,
  InitDb: 0x02,
  Query: 0x03,
  Ping: 0x0e,
  StmtPrepare: 0x16,
  StmtExecute: 0x17,
  StmtSendLongData: 0x18,
  StmtClose: 0x19,
  StmtReset: 0x1a,
  ResetConnection: 0x1f,
} as const;

export const ServerStatus = { InTransaction: 0x0001, Autocommit: 0x0002 } as const;

/** ER_UNKNOWN_ERROR: what Hyperdrive's own MySQL errors carry. */
export const ER_UNKNOWN_ERROR = 1105;

/**
 * An ERR packet with a real SQLSTATE. mysql2's own `writeError()` always sends the placeholder "#_____";
 * `writePacket()` only needs `length()`, `writeHeader(sequenceId)` and `buffer` (lib/base/connection.js).
 */
export function errorPacket(message: string, errno = ER_UNKNOWN_ERROR, sqlState = "HY000") {
  const body = Buffer.concat([
    Buffer.from([0xff, errno & 0xff, errno >> 8]),
    Buffer.from(`#${sqlState.slice(0, 5).padEnd(5, "0")}`, "ascii"),
    Buffer.from(message, "utf8"),
  ]);
  const buffer = Buffer.concat([Buffer.alloc(4), body]);
  return {
    _name: "Error",
    buffer,
    length: () => buffer.length,
    writeHeader(sequenceId: number) {
      buffer.writeUIntLE(body.length, 0, 3);
      buffer.writeUInt8(sequenceId & 0xff, 3);
    },
  };
}

const sha1 = (...parts: Buffer[]) => {
  const hash = createHash("sha1");
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/**
 * Checks a mysql_native_password answer: token = SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))). An empty
 * token means an empty password.
 */
export function verifyNativePassword(scramble: Buffer, token: Buffer, password: string): boolean {
  if (password === "") return token.length === 0;
  if (token.length !== 20) return false;
  const stage1 = sha1(Buffer.from(password, "utf8"));
  const stage2 = sha1(stage1);
  const mask = sha1(scramble, stage2);
  const candidate = Buffer.alloc(20);
  for (let i = 0; i < 20; i++) candidate[i] = (token[i] as number) ^ (mask[i] as number);
  return sha1(candidate).equals(stage2);
}
