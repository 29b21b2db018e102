import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker, { type Env } from "../src/index.ts";

const http = (exports as unknown as { default: Fetcher }).default;

/** Polls `read` until `done` accepts its value (bounded), and returns the last value. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const until = Date.now() + 30_000;
  let value = await read();
  while (!done(value) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

const events = async () =>
  Object.fromEntries(
    ((await (await http.fetch("http://example/events")).json()) as Array<{ kind: string; n: number }>).map((e) => [
      e.kind,
      e.n,
    ]),
  ) as Record<string, number>;

describe("example Worker: every handler kind with the handle", () => {
  it("queue: a message sent from fetch is stored by the consumer", async () => {
    expect((await http.fetch("http://example/events?kind=signup-page", { method: "POST" })).status).toBe(202);
    expect(await eventually(events, (e) => e["signup-page"] === 1)).toMatchObject({ "signup-page": 1 });
  });

  it("Durable Object: counts per name in the database, and its alarm writes an event", async () => {
    const hit = async () =>
      (await (await http.fetch("http://example/counter?name=docs")).json()) as { name: string; hits: number };
    expect(await hit()).toEqual({ name: "docs", hits: 1 });
    expect(await hit()).toEqual({ name: "docs", hits: 2 });
    expect(await eventually(events, (e) => (e["counter-flushed"] ?? 0) >= 1)).toMatchObject({ "counter-flushed": 1 });
  });

  it("Workflow: each step opens its own handle; the user is created and welcomed", async () => {
    const { id } = (await (await http.fetch("http://example/signup?email=ada@example.com")).json()) as { id: string };
    const status = await eventually(
      async () => (await (await http.fetch(`http://example/signup/status?id=${id}`)).json()) as { status: string },
      (s) => s.status === "complete" || s.status === "errored",
    );
    expect(status).toMatchObject({ status: "complete" });
    const users = (await (await http.fetch("http://example/users")).json()) as unknown[];
    expect(users).toContainEqual({ email: "ada@example.com", welcomed: true });
  });

  it("cron: the scheduled handler prunes old events through the handle", async () => {
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env as unknown as Env, ctx);
    await waitOnExecutionContext(ctx);
    // Nothing was old enough: what the other tests stored is still there.
    expect(await events()).toMatchObject({ "signup-page": 1 });
  });
});
