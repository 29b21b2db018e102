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
  return packet(
    Buffer.concat([
      Buffer.from([0xff, errno & 0xff, errno >> 8]),
      Buffer.from(`#${sqlState.slice(0, 5).padEnd(5, "0")}`, "ascii"),
      Buffer.from(message, "utf8"),
    ]),
  );
}

/** A length-encoded integer (protocol basics). */
function lengthEncoded(n: number): Buffer {
  if (n < 0xfb) return Buffer.from([n]);
  if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8]);
  if (n < 0x1000000) return Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]);
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}

const lengthEncodedBytes = (bytes: Buffer) => Buffer.concat([lengthEncoded(bytes.length), bytes]);

/** The first packet of a result set: how many column definitions follow. */
export const columnCountPacket = (count: number) => packet(lengthEncoded(count));

/** A text-protocol row: each value's bytes exactly as the origin sent them; NULL is 0xfb. */
export function textRowPacket(values: ReadonlyArray<Buffer | null>) {
  return packet(Buffer.concat(values.map((value) => (value === null ? NULL_VALUE : lengthEncodedBytes(value)))));
}
const NULL_VALUE = Buffer.from([0xfb]);

/** The column definition fields mysql2 reads (names decoded as UTF-8, the connection's character set). */
export interface ColumnDefinition {
  catalog?: string;
  schema?: string;
  table?: string;
  orgTable?: string;
  name?: string;
  orgName?: string;
  characterSet: number;
  columnLength: number;
  columnType: number;
  flags: number;
  decimals: number;
}

/**
 * A Protocol::ColumnDefinition41. mysql2's own `writeColumns()` encodes names in the column's character set, which
 * for binary columns mangles non-ASCII names; names are in the connection's character set (utf8mb4).
 */
export function columnPacket(column: ColumnDefinition) {
  const fixed = Buffer.alloc(13);
  fixed[0] = 0x0c;
  fixed.writeUInt16LE(column.characterSet, 1);
  fixed.writeUInt32LE(column.columnLength >>> 0, 3);
  fixed[7] = column.columnType;
  fixed.writeUInt16LE(column.flags, 8);
  fixed[10] = column.decimals;
  const names = [column.catalog ?? "def", column.schema, column.table, column.orgTable, column.name, column.orgName];
  return packet(Buffer.concat([...names.map((name) => lengthEncodedBytes(Buffer.from(name ?? "", "utf8"))), fixed]));
}

/** A packet `writePacket()` can send: a 4-byte header it fills in, then the body. */
function packet(body: Buffer) {
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
