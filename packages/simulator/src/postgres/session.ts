/**
 * One client connection (a Worker's socket) in transaction mode: it holds a pooled origin connection only for a
 * transaction or a single statement, re-prepares its named statements on whichever origin connection it gets, answers
 * cacheable reads from the cache and refuses what Hyperdrive refuses.
 */
import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import type { CacheStatus } from "../cache.ts";
import type { SimulatorContext } from "../context.ts";
import { isDdl } from "../functions.ts";
import { OriginConnectError, PoolTimeoutError } from "../pool.ts";
import { lex, type Statement } from "../sql.ts";
import { type CachedResult, fetchCached, type PostgresCache } from "./cached.ts";
import { postgresVolatility } from "./functions.ts";
import {
  Backend,
  type BindMessage,
  emptyMessage,
  errorResponse,
  Frontend,
  type ParseMessage,
  readBind,
  readExecute,
  readParse,
  readQuery,
  readTarget,
  readyForQuery,
  readyStatus,
  serialize,
  writeBind,
} from "./messages.ts";
import type { PostgresOrigin } from "./origin.ts";
import { POSTGRES_REFUSAL_MESSAGES, postgresRefusal } from "./refusals.ts";

/** A message sent to the origin whose answer is still due. */
interface Pending {
  type: number;
  /** An answer the client must not see: to a Parse or Close the simulator added itself. */
  swallow: boolean;
  done?: (failed: boolean) => void;
  /** A simple Query whose answer included an ErrorResponse. */
  failed?: boolean;
}

interface ClientStatement extends ParseMessage {
  /** The name on origin connections: one per distinct text and types, shared by every client. */
  serverName: string;
  /** An unnamed statement the client described (Postgres.js `prepare: false`, `sql.unsafe()`): never cached. */
  unnamedDescribed?: boolean;
}

/** The log note for what Hyperdrive does not cache and may fail on (Postgres.js `prepare: false`). */
export const UNNAMED_NOTE =
  "warning: an unnamed statement described first (Postgres.js prepare: false or sql.unsafe()): Hyperdrive does not cache it and it can hang or fail intermittently; use prepare: true";

export interface PostgresSessionContext extends SimulatorContext<PostgresOrigin> {
  cache: PostgresCache | undefined;
}

/** The pieces of a batch the cache can answer: [Parse] [Describe S] Bind [Describe P] Execute, then Sync. */
type Step = "P" | "DS" | "B" | "DP" | "E";
const STEP_ORDER: Step[] = ["P", "DS", "B", "DP", "E"];

export class PostgresSession {
  private readonly statements = new Map<string, ClientStatement>();
  /** Portal name to the statement bound to it, for the query log. */
  private readonly portals = new Map<string, { text: string; unnamedDescribed: boolean | undefined }>();
  private server: PostgresOrigin | undefined;
  /** The origin connection running this client's read on the cache path, while it runs. */
  private fetching: PostgresOrigin | undefined;
  private pending: Pending[] = [];
  private drainWaiters: Array<() => void> = [];
  private status: "I" | "T" | "E" = "I";
  private batch: Buffer[] = [];
  /** After an error of the simulator's own in the extended protocol: drop messages up to Sync, as a server does. */
  private skipping = false;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private readonly socket: Socket;
  private readonly context: PostgresSessionContext;

  constructor(socket: Socket, context: PostgresSessionContext) {
    this.socket = socket;
    this.context = context;
  }

  /** A frontend message after authentication. Handled strictly in order. */
  receive(message: Buffer): void {
    // Terminate does not wait behind a statement still running: the client is gone, what it runs is cancelled.
    if (message[0] === Frontend.Terminate) {
      this.close();
      this.socket.end();
      return;
    }
    this.chain = this.chain
      .then(() => this.handle(message))
      .catch((error: unknown) => {
        this.context.log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
        this.send(errorResponse("58000", "Hyperdrive encountered an internal error", "FATAL"));
        this.socket.destroy();
      });
  }

  /**
   * The client went away. An origin connection it still holds is mid-transaction, mid-COPY, mid-statement or
   * mid-batch (no Sync yet): a reset there would run inside what it left, and commit an abandoned statement. So
   * what runs is cancelled and the connection closed, which rolls back; the pool opens a fresh one.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A read on the cache path runs on a connection of its own: stop it too (it goes back once it answered).
    this.fetching?.cancel();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.attach(undefined);
    if (this.pending.length > 0) server.cancel();
    this.context.pool.release(server, { broken: true });
  }

  /** The client's CancelRequest: forwarded to the origin connection running its statement, if any. */
  cancel(): void {
    this.fetching?.cancel();
    if (this.server && this.pending.length > 0) this.server.cancel();
  }

  private async handle(message: Buffer): Promise<void> {
    if (this.closed) return;
    const type = message[0];
    switch (type) {
      case Frontend.Parse:
      case Frontend.Bind:
      case Frontend.Describe:
      case Frontend.Execute:
      case Frontend.Close:
        this.batch.push(message);
        return;
      case Frontend.Sync:
        return this.endBatch(message, true);
      case Frontend.Flush:
        return this.endBatch(message, false);
      case Frontend.Query:
        return this.query(message);
      case Frontend.Terminate:
        this.close();
        this.socket.end();
        return;
      case Frontend.CopyData:
      case Frontend.CopyDone:
      case Frontend.CopyFail:
        if (this.server) this.server.write(message);
        return;
      default:
        // FunctionCall and anything else that answers up to ReadyForQuery.
        if (await this.hold(true)) this.forward(message, { type: Frontend.Query, swallow: false });
    }
  }

  private async query(message: Buffer): Promise<void> {
    const text = readQuery(message);
    const statements = lex(text);
    if (this.refuse(text, statements)) {
      this.send(readyForQuery(this.status));
      return;
    }
    const status = this.cacheStatus(text, statements);
    if (status === undefined && !this.server) {
      return this.answerFromCache(`Q\0${text}`, text, ["E"], "simple", () => message);
    }
    const started = performance.now();
    if (!(await this.hold(true))) return;
    const ddl = statements.some(({ words }) => isDdl(words));
    this.forward(message, {
      type: Frontend.Query,
      swallow: false,
      done: (failed) => {
        if (ddl) this.context.functions.forget();
        this.report(text, status ?? "uncacheable", started, failed);
      },
    });
  }

  private async endBatch(terminator: Buffer, sync: boolean): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (this.skipping) {
      if (!sync) return;
      this.skipping = false;
      if (this.server) this.forward(terminator, { type: Frontend.Sync, swallow: false });
      else this.send(readyForQuery(this.status));
      return;
    }
    // Nothing to run: no origin connection needed (a Sync after an error, a stray Flush).
    if (batch.length === 0 && !this.server) {
      if (sync) this.send(readyForQuery(this.status));
      return;
    }
    for (const message of batch) {
      if (message[0] !== Frontend.Parse) continue;
      const { text } = readParse(message);
      if (this.refuse(text, lex(text))) return this.failBatch(terminator, sync);
    }
    if (sync && !(this.server && this.status !== "I")) {
      const plan = this.cachePlan(batch);
      // Postgres.js without prepare: an unnamed statement it describes is not cached (Cloudflare's Postgres.js page).
      if (
        plan &&
        !(plan.statement.serverName === "" && (plan.steps.includes("DS") || plan.statement.unnamedDescribed))
      ) {
        const status = this.cacheStatus(plan.statement.text, lex(plan.statement.text));
        if (status === undefined) {
          await this.releaseMidBatch();
          if (plan.parse) this.statements.set(plan.parse.name, plan.statement);
          const rest = plan.bind.rest;
          const key = cacheKey(plan.statement, rest);
          return this.answerFromCache(key, plan.statement.text, plan.steps, "extended", () =>
            Buffer.concat([
              serialize.parse({ text: plan.statement.text, types: plan.statement.types }),
              serialize.describe({ type: "S", name: "" }),
              writeBind({ portal: "", statement: "", rest }),
              serialize.describe({ type: "P", name: "" }),
              serialize.execute({ portal: "", rows: 0 }),
              serialize.sync(),
            ]),
          );
        }
      }
    }
    if (!(await this.hold(sync))) {
      if (!sync) this.skipping = true;
      return;
    }
    for (const message of batch) this.forwardExtended(message);
    if (sync) this.forward(terminator, { type: Frontend.Sync, swallow: false });
    else this.server?.write(terminator);
  }

  /** Answers the client's read from the cache, or from the origin on a pooled connection of its own, then caches. */
  private async answerFromCache(
    key: string,
    text: string,
    steps: Step[],
    kind: "simple" | "extended",
    request: () => Buffer,
  ): Promise<void> {
    const started = performance.now();
    const cache = this.context.cache;
    const found = cache?.lookup(key);
    const lookups = this.lookups(text);
    if (found) {
      this.emit(found.value, steps);
      this.report(text, "hit", started, false, found.stale ? "stale" : undefined);
      if (found.revalidate && cache) {
        fetchCached(this.context.pool, request(), kind, lookups).then(
          (result) => {
            if ("error" in result || this.context.functions.volatile(text)) cache.revalidationFailed(key);
            else cache.store(key, result, result.bytes);
          },
          () => cache.revalidationFailed(key),
        );
      }
      return;
    }
    let result: CachedResult | { error: Buffer };
    try {
      result = await fetchCached(this.context.pool, request(), kind, lookups, (server) => {
        this.fetching = server;
      });
    } catch (error) {
      const acquiring = error instanceof PoolTimeoutError || error instanceof OriginConnectError;
      this.send(acquiring ? this.context.acquireError(error) : errorResponse("58000", "Server connection lost"));
      this.send(readyForQuery("I"));
      this.report(text, "miss", started, true);
      return;
    }
    if ("error" in result) {
      this.send(result.error);
      this.send(readyForQuery("I"));
      this.report(text, "miss", started, true);
      return;
    }
    // A function first seen in this read turned out STABLE or VOLATILE: answered, not stored.
    if (this.context.functions.volatile(text)) {
      this.emit(result, steps);
      this.report(text, "volatile", started, false);
      return;
    }
    const stored = cache?.store(key, result, result.bytes) ?? false;
    this.emit(result, steps);
    this.report(text, stored ? "miss" : "oversizedresult", started, false);
  }

  /** The catalogue lookups for names this read calls that are not known yet, run after it on its connection. */
  private lookups(text: string): ((server: PostgresOrigin) => Promise<void>) | undefined {
    const names = this.context.functions.unknown(text);
    if (names.length === 0) return undefined;
    return async (server) => this.context.functions.learn(await postgresVolatility(server, names));
  }

  /** Writes a cached result in the shape of the client's batch. */
  private emit(result: CachedResult, steps: Step[]): void {
    const messages: Buffer[] = [];
    for (const step of steps) {
      if (step === "P") messages.push(emptyMessage(Backend.ParseComplete));
      else if (step === "DS") messages.push(result.parameters, result.statementRows);
      else if (step === "B") messages.push(emptyMessage(Backend.BindComplete));
      else if (step === "DP") messages.push(result.portalRows);
      else messages.push(...result.body);
    }
    messages.push(readyForQuery("I"));
    this.send(Buffer.concat(messages));
  }

  private cachePlan(batch: Buffer[]) {
    let parse: ParseMessage | undefined;
    let bind: BindMessage | undefined;
    const steps: Step[] = [];
    const targets: Array<{ step: Step; name: string }> = [];
    for (const message of batch) {
      switch (message[0]) {
        case Frontend.Parse:
          parse = readParse(message);
          steps.push("P");
          break;
        case Frontend.Bind:
          bind = readBind(message);
          steps.push("B");
          break;
        case Frontend.Describe: {
          const { type, name } = readTarget(message);
          steps.push(type === "S" ? "DS" : "DP");
          targets.push({ step: type === "S" ? "DS" : "DP", name });
          break;
        }
        case Frontend.Execute: {
          const { portal, rows } = readExecute(message);
          if (rows !== 0) return undefined; // a cursor: portal suspension is not cached
          steps.push("E");
          targets.push({ step: "E", name: portal });
          break;
        }
        default:
          return undefined;
      }
    }
    // Each step at most once, in protocol order, Bind and Execute present.
    let last = -1;
    for (const step of steps) {
      const index = STEP_ORDER.indexOf(step);
      if (index <= last) return undefined;
      last = index;
    }
    if (!bind || !steps.includes("E")) return undefined;
    if (parse && parse.name !== bind.statement) return undefined;
    for (const { step, name } of targets) {
      if (name !== (step === "DS" ? bind.statement : bind.portal)) return undefined;
    }
    const statement = parse ? this.clientStatement(parse) : this.statements.get(bind.statement);
    if (!statement) return undefined;
    return { parse, bind, statement, steps };
  }

  /** The cache status a statement gets before it runs, or undefined when it may be cached. */
  private cacheStatus(text: string, statements: Statement[]): CacheStatus | undefined {
    if (!this.context.cache) return "disabled";
    if (statements.length === 0) return "notaquery";
    if (statements.length > 1) return "multiplestatements";
    if (this.server && this.status !== "I") return "transaction";
    if (!this.context.isReadOnly(statements[0] as Statement)) return "uncacheable";
    if (this.context.functions.volatile(text)) return "volatile";
    return undefined;
  }

  private refuse(text: string, statements: Statement[]): boolean {
    const refusal = postgresRefusal(statements);
    if (!refusal) return false;
    this.send(errorResponse("58000", this.context.messages.refused[refusal] ?? POSTGRES_REFUSAL_MESSAGES[refusal]));
    this.context.report({ text, cache: "uncacheable", refused: refusal, durationMs: 0, failed: true });
    return true;
  }

  /** Answers a batch with the simulator's own error: skip to Sync, as the server would. */
  private failBatch(terminator: Buffer, sync: boolean): void {
    if (!sync) {
      this.skipping = true;
      return;
    }
    if (this.server) this.forward(terminator, { type: Frontend.Sync, swallow: false });
    else this.send(readyForQuery(this.status));
  }

  /** Makes sure this client holds an origin connection; answers the pool's error if it cannot get one. */
  private async hold(sync: boolean): Promise<boolean> {
    if (this.server) return true;
    let server: PostgresOrigin;
    try {
      server = await this.context.pool.acquire();
    } catch (error) {
      this.send(this.context.acquireError(error));
      if (sync) this.send(readyForQuery("I"));
      return false;
    }
    if (this.closed) {
      this.context.pool.release(server);
      return false;
    }
    this.server = server;
    server.attach((type, message) => this.fromServer(type, message));
    return true;
  }

  /**
   * After a Flush (Postgres.js describes a statement before it binds it) the origin connection is still held: let
   * its answers arrive, then end its batch with a Sync of the simulator's own, which returns it to the pool.
   */
  private async releaseMidBatch(): Promise<void> {
    if (!this.server) return;
    await this.drained();
    if (!this.server) return;
    this.forward(serialize.sync(), { type: Frontend.Sync, swallow: true });
    await this.drained();
  }

  private drained(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private forward(message: Buffer, pending: Pending): void {
    this.server?.write(message);
    this.pending.push(pending);
  }

  /** One extended-protocol message, with statement names mapped to the origin connection's. */
  private forwardExtended(message: Buffer): void {
    const server = this.server as PostgresOrigin;
    switch (message[0]) {
      case Frontend.Parse: {
        const statement = this.clientStatement(readParse(message));
        this.statements.set(statement.name, statement);
        if (statement.serverName === "") {
          server.unnamed = statement;
          this.forward(message, { type: Frontend.Parse, swallow: false });
          return;
        }
        // Shared by name across clients: prepare afresh, so the client sees its own Parse succeed or fail.
        if (server.prepared.has(statement.serverName)) {
          this.forward(serialize.close({ type: "S", name: statement.serverName }), {
            type: Frontend.Close,
            swallow: true,
          });
        }
        server.prepared.add(statement.serverName);
        this.forward(serialize.parse({ ...statement, name: statement.serverName }), {
          type: Frontend.Parse,
          swallow: false,
        });
        return;
      }
      case Frontend.Bind: {
        const bind = readBind(message);
        const statement = this.statements.get(bind.statement);
        this.portals.set(bind.portal, { text: statement?.text ?? "", unnamedDescribed: statement?.unnamedDescribed });
        this.forward(writeBind({ ...bind, statement: this.ensurePrepared(bind.statement) }), {
          type: Frontend.Bind,
          swallow: false,
        });
        return;
      }
      case Frontend.Describe: {
        const { type, name } = readTarget(message);
        const described = type === "S" && name === "" ? this.statements.get("") : undefined;
        if (described) described.unnamedDescribed = true;
        const out = type === "S" ? serialize.describe({ type, name: this.ensurePrepared(name) }) : message;
        this.forward(out, { type: Frontend.Describe, swallow: false });
        return;
      }
      case Frontend.Close: {
        const { type, name } = readTarget(message);
        if (type === "P") {
          this.forward(message, { type: Frontend.Close, swallow: false });
          return;
        }
        const statement = this.statements.get(name);
        this.statements.delete(name);
        // Closing a name that does not exist is no error in PostgreSQL: the client gets its CloseComplete either way.
        const serverName = statement ? statement.serverName : `hdk_closed_${name}`;
        if (statement && serverName === "") server.unnamed = undefined;
        server.prepared.delete(serverName);
        this.forward(serialize.close({ type: "S", name: serverName }), { type: Frontend.Close, swallow: false });
        return;
      }
      case Frontend.Execute: {
        const { portal } = readExecute(message);
        const { text = "", unnamedDescribed = false } = this.portals.get(portal) ?? {};
        const words = lex(text);
        const status = unnamedDescribed
          ? this.context.cache
            ? "uncacheable"
            : "disabled"
          : (this.cacheStatus(text, words) ?? "uncacheable");
        const ddl = words.some((statement) => isDdl(statement.words));
        const started = performance.now();
        this.forward(message, {
          type: Frontend.Execute,
          swallow: false,
          done: (failed) => {
            if (ddl) this.context.functions.forget();
            this.report(text, status, started, failed, unnamedDescribed ? UNNAMED_NOTE : undefined);
          },
        });
        return;
      }
    }
  }

  /**
   * The origin-side name of a client statement, prepared on the held connection first if it is not there yet: the
   * statement was parsed in an earlier transaction, on another pooled connection.
   */
  private ensurePrepared(clientName: string): string {
    const server = this.server as PostgresOrigin;
    const statement = this.statements.get(clientName);
    // Unknown: let the origin answer "prepared statement does not exist".
    if (!statement) return clientName === "" ? "" : `hdk_unknown_${clientName}`;
    if (statement.serverName === "") {
      if (server.unnamed !== statement) {
        server.unnamed = statement;
        this.forward(serialize.parse({ text: statement.text, types: statement.types }), {
          type: Frontend.Parse,
          swallow: true,
        });
      }
      return "";
    }
    if (!server.prepared.has(statement.serverName)) {
      server.prepared.add(statement.serverName);
      this.forward(serialize.parse({ ...statement, name: statement.serverName }), {
        type: Frontend.Parse,
        swallow: true,
      });
    }
    return statement.serverName;
  }

  private clientStatement(parse: ParseMessage): ClientStatement {
    const serverName =
      parse.name === ""
        ? ""
        : `hdk_${createHash("sha256")
            .update(`${parse.types.join(",")}\0${parse.text}`)
            .digest("hex")
            .slice(0, 40)}`;
    return { ...parse, serverName };
  }

  /** An answer from the origin connection this client holds. */
  private fromServer(type: number, message: Buffer): void {
    if (type === -1) {
      // The origin connection broke under this client: like a server that went away.
      this.server = undefined;
      for (const pending of this.pending.splice(0)) pending.done?.(true);
      this.send(errorResponse("58000", "Server connection lost", "FATAL"));
      this.socket.end();
      return;
    }
    const front = this.pending[0];
    let completed: Pending | undefined;
    switch (type) {
      case Backend.ParseComplete:
      case Backend.BindComplete:
      case Backend.CloseComplete:
        completed = this.pending.shift();
        break;
      case Backend.NoData:
      case Backend.RowDescription:
        if (front?.type === Frontend.Describe) completed = this.pending.shift();
        break;
      case Backend.CommandComplete:
      case Backend.EmptyQuery:
      case Backend.PortalSuspended:
        if (front?.type === Frontend.Execute) completed = this.pending.shift();
        break;
      case Backend.ReadyForQuery:
        completed = this.pending.shift();
        this.status = readyStatus(message);
        break;
      case Backend.Error:
        // In the extended protocol the origin now skips every message up to Sync: so do their answers.
        if (front && front.type !== Frontend.Query) {
          while (this.pending[0] && this.pending[0].type !== Frontend.Sync) this.pending.shift()?.done?.(true);
        } else if (front) front.failed = true;
        break;
    }
    if (!completed?.swallow) this.send(message);
    completed?.done?.(completed.failed === true);
    if (this.pending.length === 0) {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
      if (type === Backend.ReadyForQuery && this.status === "I") this.releaseServer();
    }
  }

  private releaseServer(): void {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.portals.clear();
    server.attach(undefined);
    this.context.pool.release(server);
  }

  private report(text: string, cache: CacheStatus, started: number, failed: boolean, note?: string): void {
    this.context.report({ text, cache, durationMs: performance.now() - started, failed, ...(note ? { note } : {}) });
  }

  private send(message: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(message);
  }
}

function cacheKey(statement: ParseMessage, bindRest: Buffer): string {
  return createHash("sha256")
    .update(statement.text)
    .update("\0")
    .update(statement.types.join(","))
    .update("\0")
    .update(bindRest)
    .digest("hex");
}
