/**
 * The PostgreSQL messages the simulator reads or rewrites, on pg-protocol's reader, writer and serializer. Framing:
 * a type byte, then a length that counts itself; the startup packet alone has no type byte.
 */
import { BufferReader } from "pg-protocol/dist/buffer-reader.js";
import { Writer } from "pg-protocol/dist/buffer-writer.js";

export { serialize } from "pg-protocol";

/** Frontend message types. */
export const Frontend = {
  Query: 0x51, // Q
  Parse: 0x50, // P
  Bind: 0x42, // B
  Describe: 0x44, // D
  Execute: 0x45, // E
  Close: 0x43, // C
  Sync: 0x53, // S
  Flush: 0x48, // H
  Terminate: 0x58, // X
  FunctionCall: 0x46, // F
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
} as const;

/** Backend message types. */
export const Backend = {
  ParseComplete: 0x31, // 1
  BindComplete: 0x32, // 2
  CloseComplete: 0x33, // 3
  ParameterDescription: 0x74, // t
  RowDescription: 0x54, // T
  NoData: 0x6e, // n
  DataRow: 0x44, // D
  CommandComplete: 0x43, // C
  EmptyQuery: 0x49, // I
  PortalSuspended: 0x73, // s
  ReadyForQuery: 0x5a, // Z
  Error: 0x45, // E
} as const;

/** Cuts a byte stream into whole messages. */
export class Framer {
  // Chunks of a message still incomplete are joined once it is whole: joining on every chunk copies a large
  // DataRow once per 64 KB read (quadratic: a 60 MB value took over a minute).
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes the first incomplete message needs, once its length is known. */
  private needed = 0;

  /** `typed`: false while the peer may still send its startup packet (no type byte). */
  push(chunk: Buffer, typed = true): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return [];
    let pending = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    const messages: Buffer[] = [];
    const typeLength = typed ? 1 : 0;
    this.needed = 0;
    while (pending.length >= typeLength + 4) {
      const size = typeLength + pending.readUInt32BE(typeLength);
      if (pending.length < size) {
        this.needed = size;
        break;
      }
      messages.push(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
    this.chunks = pending.length === 0 ? [] : [pending];
    this.buffered = pending.length;
    return messages;
  }
}

function reader(message: Buffer): BufferReader {
  const r = new BufferReader();
  r.setBuffer(5, message); // past the type byte and the length
  return r;
}

export interface ParseMessage {
  name: string;
  text: string;
  types: number[];
}

export function readParse(message: Buffer): ParseMessage {
  const r = reader(message);
  const name = r.cstring();
  const text = r.cstring();
  const count = r.int16();
  const types: number[] = [];
  for (let i = 0; i < count; i++) types.push(r.uint32());
  return { name, text, types };
}

export interface BindMessage {
  portal: string;
  statement: string;
  /** Formats, values and result formats: everything after the statement name, as sent. */
  rest: Buffer;
}

export function readBind(message: Buffer): BindMessage {
  const portal = reader(message).cstring();
  const statementStart = 5 + Buffer.byteLength(portal) + 1;
  const statementEnd = message.indexOf(0, statementStart);
  return {
    portal,
    statement: message.toString("utf8", statementStart, statementEnd),
    rest: message.subarray(statementEnd + 1),
  };
}

export function writeBind({ portal, statement, rest }: BindMessage): Buffer {
  return new Writer().addCString(portal).addCString(statement).add(rest).flush(Frontend.Bind);
}

/** Describe and Close: a target ('S' statement, 'P' portal) and its name. */
export function readTarget(message: Buffer): { type: "S" | "P"; name: string } {
  const r = reader(message);
  const type = String.fromCharCode(r.byte()) === "S" ? "S" : "P";
  return { type, name: r.cstring() };
}

/** Execute: the portal and the row limit (0: all rows). */
export function readExecute(message: Buffer): { portal: string; rows: number } {
  const r = reader(message);
  return { portal: r.cstring(), rows: r.int32() };
}

export function readQuery(message: Buffer): string {
  return reader(message).cstring();
}

/** The status byte of ReadyForQuery: I idle, T in a transaction, E in a failed transaction. */
export function readyStatus(message: Buffer): "I" | "T" | "E" {
  return String.fromCharCode(message[5] ?? 0x49) as "I" | "T" | "E";
}

/** A backend message without a body (ParseComplete, BindComplete, CloseComplete, NoData). */
export function emptyMessage(type: number): Buffer {
  return new Writer().flush(type);
}

export function readyForQuery(status: "I" | "T" | "E"): Buffer {
  return new Writer().addString(status).flush(Backend.ReadyForQuery);
}

/** An ErrorResponse with severity, SQLSTATE and message (the fields drivers read). */
export function errorResponse(code: string, message: string, severity = "ERROR"): Buffer {
  return new Writer()
    .addString("S")
    .addCString(severity)
    .addString("V")
    .addCString(severity)
    .addString("C")
    .addCString(code)
    .addString("M")
    .addCString(message)
    .addCString("")
    .flush(Backend.Error);
}

/** The SQLSTATE and message of an ErrorResponse. */
export function readError(message: Buffer): { code?: string; message?: string } {
  const fields: Record<string, string> = {};
  const r = reader(message);
  // At most one of each field type: a malformed message cannot loop.
  for (let i = 0; i < 32; i++) {
    const field = r.byte();
    if (!field) break;
    fields[String.fromCharCode(field)] = r.cstring();
  }
  return { code: fields.C, message: fields.M };
}
