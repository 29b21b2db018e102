/**
 * The conformance suite's core cases run inside every handler kind of one Worker: `scheduled`, `queue`, a Durable
 * Object (`fetch`, `alarm`, `webSocketMessage` under the hibernation API, an RPC method), a `WorkerEntrypoint`'s RPC
 * method and a Workflow step. Each kind runs the same cases with the `ctx` its handler gets; the suite
 * (`handler-kinds-suite.ts`) drives them through real invocations and reads what they reported.
 */
import { DurableObject, WorkerEntrypoint, WorkflowEntrypoint, type WorkflowStep } from "cloudflare:workers";
import { classify, findHyperdriveError, type HyperdriveEvent } from "@hyperdrive-kit/core";
import { ObjectHandle } from "@hyperdrive-kit/core/adapter";
import type { ConformanceDriver, Rows } from "./worker.ts";

export const HANDLER_KINDS = [
  "scheduled",
  "queue",
  "durable-object-fetch",
  "durable-object-rpc",
  "durable-object-alarm",
  "durable-object-websocket",
  "rpc-entrypoint",
  "workflow-step",
] as const;
export type HandlerKind = (typeof HANDLER_KINDS)[number];

/** What to run: the mode's options, and whether to use the handle the kind's previous run kept. */
export interface KindOrder {
  kind: HandlerKind;
  /** Tells this run from the others in the log. */
  run: string;
  options: Record<string, unknown>;
  reuse?: boolean;
  /** Workflow only: also run the patterns that must be refused (slow: one step waits out its timeout). */
  patterns?: boolean;
}

type Scalar = string | number | boolean | null;

/** What a kind's run reports (JSON, so a Workflow step can return it and a WebSocket can send it). */
export interface KindReport {
  kind: HandlerKind;
  run: string;
  one?: Scalar;
  /** The connection id seen by the two statements of one transaction: equal when the transaction held one. */
  transaction?: [Scalar, Scalar];
  parallel?: Scalar[];
  /** With `reuse`: the code the kept handle was refused with, and how long the refusal took. */
  reuse?: { code: string | undefined; ms: number };
  error?: { code: string | undefined; message: string };
}

/** Per run: its teardown events, and whether an unhandled rejection happened (the isolate's own listener counts). */
const teardowns = new Map<string, string[]>();
/** The handle each kind's last run kept, for the next run's `reuse`. */
const kept = new Map<HandlerKind, unknown>();
/** Reports of the kinds whose invocation returns nothing to the test (scheduled, queue, alarm). */
const reports = new Map<string, KindReport>();

/** The teardown outcomes of a run (read by the conformance Worker's `/kinds/teardowns`). */
export const teardownsOf = (run: string): string[] => teardowns.get(run) ?? [];
/** The report a run left (read by `/kinds/report`). */
export const reportOf = (run: string): KindReport | undefined => reports.get(run);

const errorOf = (error: unknown) => ({
  code: findHyperdriveError(error)?.code ?? (classify(error).type === "catalog" ? "catalogued" : undefined),
  message: error instanceof Error ? error.message : String(error),
});

/** The core cases, in one handler invocation: query, transaction, parallel queries, then the handle kept. */
export function kindCases<Db>(driver: ConformanceDriver<Db>, record: (event: HyperdriveEvent) => void) {
  const transaction =
    driver.transaction ??
    (async (db: Db, body: (query: (text: string) => Promise<Rows>) => Promise<unknown>) => {
      await driver.query(db, "begin");
      try {
        const result = await body((text) => driver.query(db, text));
        await driver.query(db, "commit");
        return result;
      } catch (error) {
        await driver.query(db, "rollback");
        throw error;
      }
    });
  return async (env: unknown, ctx: ExecutionContext, order: KindOrder): Promise<KindReport> => {
    const report: KindReport = { kind: order.kind, run: order.run };
    const onEvent = (event: HyperdriveEvent) => {
      record(event);
      if (event.type !== "teardown") return;
      const list = teardowns.get(order.run) ?? [];
      list.push(event.outcome);
      teardowns.set(order.run, list);
    };
    try {
      await driver.withHyperdrive(
        env,
        ctx,
        async (db) => {
          if (order.reuse) {
            const started = Date.now();
            try {
              await driver.query(kept.get(order.kind) as Db, "select 1 as one");
              report.reuse = { code: undefined, ms: Date.now() - started };
            } catch (error) {
              report.reuse = { code: findHyperdriveError(error)?.code, ms: Date.now() - started };
            }
          }
          report.one = (await driver.query(db, "select 1 as one"))[0]?.one as Scalar;
          report.transaction = (await transaction(db, async (query) => [
            (await query(driver.backendIdSql))[0]?.id,
            (await query(driver.backendIdSql))[0]?.id,
          ])) as [Scalar, Scalar];
          report.parallel = (await Promise.all([1, 2, 3].map((i) => driver.query(db, `select ${i} as i`)))).map(
            (rows) => rows[0]?.i as Scalar,
          );
          kept.set(order.kind, db);
          return new Response(null);
        },
        { ...order.options, onEvent },
      );
    } catch (error) {
      report.error = errorOf(error);
    }
    reports.set(order.run, report);
    return report;
  };
}

export interface HandlerKindClasses {
  HandlerObject: typeof DurableObject;
  HandlerEntrypoint: typeof WorkerEntrypoint;
  HandlerWorkflow: typeof WorkflowEntrypoint;
}

/** What the Workflow reports: the cases in a step, and the patterns that must be refused. */
export interface WorkflowReport {
  cases: KindReport;
  /** `withHyperdrive` around `step.do`: the step's error as `run()` caught it, and how many attempts it took. */
  handleAroundStep?: { code: string | undefined; name: string; attempts: number };
  /** `withHyperdrive(env, step, …)`: refused at once. */
  stepAsCtx?: { code: string | undefined };
  /** A step that runs past its timeout: how `classify()` sees the engine's error. */
  stepTimeout?: { classified: string; code: string | undefined };
}

/**
 * The Durable Object, the RPC entrypoint and the Workflow of the handler-kind suite; the adapter's test Worker
 * exports them under these names (the suite's Vitest configuration binds them).
 */
export function createHandlerKindClasses<Db>(
  driver: ConformanceDriver<Db>,
  record: (event: HyperdriveEvent) => void,
): HandlerKindClasses {
  const cases = kindCases(driver, record);

  class HandlerObject extends DurableObject<Record<string, unknown>> {
    #handle: ObjectHandle<object> | undefined;
    #kept: unknown;
    /** Connections opened and teardown outcomes, by the object handle and by handles per request. */
    #lifecycle: string[] = [];

    /** The object-lifetime handle's routes (`/object/…`) and the per-request handle they are measured against. */
    async #lifetime(url: URL): Promise<Response> {
      const options = JSON.parse(url.searchParams.get("options") ?? "{}") as Record<string, unknown>;
      const onEvent = (prefix: string) => (event: HyperdriveEvent) => {
        record(event);
        if (event.type === "connect") this.#lifecycle.push(`${prefix}connect`);
        if (event.type === "teardown") this.#lifecycle.push(`${prefix}teardown:${event.outcome}`);
      };
      const make = () =>
        new ObjectHandle(this.ctx, (scope) => driver.attach(scope, this.env, options) as object, {
          idleMs: Number(url.searchParams.get("idleMs") ?? 30_000),
          onEvent: onEvent("object:"),
        });
      const backend = async (db: object) => (await driver.query(db as Db, driver.backendIdSql))[0]?.id as Scalar;
      const started = performance.now();
      try {
        switch (url.pathname) {
          case "/object/run": {
            this.#handle ??= make();
            const id = await this.#handle.run(async (db) => {
              this.#kept = db;
              return backend(db);
            });
            return Response.json({ backend: id, ms: performance.now() - started });
          }
          case "/object/per-request": {
            const id = await driver.withHyperdrive(
              this.env,
              this.ctx as unknown as ExecutionContext,
              async (db) => Response.json(await backend(db as object)),
              { ...options, onEvent: onEvent("request:") },
            );
            return Response.json({ backend: await id.json(), ms: performance.now() - started });
          }
          case "/object/second":
            make();
            return Response.json({ code: undefined });
          case "/object/kept":
            await driver.query(this.#kept as Db, "select 1 as one");
            return Response.json({ code: undefined });
          case "/object/close":
            await this.#handle?.close();
            return Response.json({ closed: true });
          case "/object/lifecycle":
            return Response.json(this.#lifecycle);
          default:
            return new Response("not found", { status: 404 });
        }
      } catch (error) {
        return Response.json(errorOf(error));
      }
    }

    override async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/object/")) return this.#lifetime(url);
      const order = JSON.parse(url.searchParams.get("order") ?? "{}") as KindOrder;
      if (url.pathname === "/kinds/report") return Response.json(reportOf(url.searchParams.get("run") ?? "") ?? null);
      if (url.pathname === "/kinds/teardowns") return Response.json(teardownsOf(url.searchParams.get("run") ?? ""));
      if (url.pathname === "/ws") {
        const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
        this.ctx.acceptWebSocket(server);
        return new Response(null, { status: 101, webSocket: client });
      }
      if (url.pathname === "/alarm") {
        await this.ctx.storage.put("order", order);
        await this.ctx.storage.setAlarm(Date.now());
        return Response.json({ scheduled: true });
      }
      return Response.json(await cases(this.env, this.ctx as unknown as ExecutionContext, order));
    }

    async cases(order: KindOrder): Promise<KindReport> {
      return cases(this.env, this.ctx as unknown as ExecutionContext, order);
    }

    override async alarm(): Promise<void> {
      const order = await this.ctx.storage.get<KindOrder>("order");
      if (order) await cases(this.env, this.ctx as unknown as ExecutionContext, order);
    }

    override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
      const order = JSON.parse(String(message)) as KindOrder;
      ws.send(JSON.stringify(await cases(this.env, this.ctx as unknown as ExecutionContext, order)));
    }
  }

  class HandlerEntrypoint extends WorkerEntrypoint<Record<string, unknown>> {
    async cases(order: KindOrder): Promise<KindReport> {
      return cases(this.env, this.ctx, order);
    }

    /** Throws a HyperdriveError (`HDK_BINDING_MISSING`) across the RPC call. */
    async missingBinding(): Promise<void> {
      await driver.withHyperdrive(this.env, this.ctx, async () => new Response(null), { binding: "NO_SUCH_BINDING" });
    }
  }

  class HandlerWorkflow extends WorkflowEntrypoint<Record<string, unknown>, KindOrder> {
    override async run(event: { payload: KindOrder }, step: WorkflowStep): Promise<WorkflowReport> {
      const order = event.payload;
      // The pattern that works: the handle inside the step.
      const report: WorkflowReport = {
        cases: await step.do("cases", () => cases(this.env, this.ctx, order)),
      };
      if (!order.patterns) return report;
      // The natural code that cannot work: one handle around several steps.
      let attempts = 0;
      try {
        await driver.withHyperdrive(
          this.env,
          this.ctx,
          async (db) => {
            await step.do("handle around the step", { retries: { limit: 3, delay: 10 } }, async () => {
              attempts++;
              return (await driver.query(db, "select 1 as one"))[0]?.one as number;
            });
            return new Response(null);
          },
          order.options,
        );
      } catch (error) {
        report.handleAroundStep = {
          code: findHyperdriveError(error)?.code,
          name: error instanceof Error ? error.name : typeof error,
          attempts,
        };
      }
      try {
        await driver.withHyperdrive(this.env, step as unknown as ExecutionContext, async () => new Response(null));
      } catch (error) {
        report.stepAsCtx = { code: findHyperdriveError(error)?.code };
      }
      try {
        await step.do("past its timeout", { timeout: 1000, retries: { limit: 0, delay: 0 } }, () =>
          cases(this.env, this.ctx, { ...order, run: `${order.run}:slow`, options: { ...order.options } }).then(
            () => new Promise<number>((resolve) => setTimeout(() => resolve(1), 3000)),
          ),
        );
      } catch (error) {
        const classified = classify(error);
        report.stepTimeout = {
          classified: classified.type,
          code: classified.type === "catalog" ? classified.code : undefined,
        };
      }
      return report;
    }
  }

  return { HandlerObject, HandlerEntrypoint, HandlerWorkflow } as unknown as HandlerKindClasses;
}
