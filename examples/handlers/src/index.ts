import { DurableObject, WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";
import { withHyperdrive } from "@hyperdrive-kit/postgres";

export interface Env {
  HYPERDRIVE: Hyperdrive;
  EVENTS: Queue<{ kind: string }>;
  COUNTERS: DurableObjectNamespace<Counter>;
  SIGNUP: Workflow<{ email: string }>;
}

export default {
  // HTTP: the entry point to the other handlers.
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/events":
        if (request.method === "POST") {
          await env.EVENTS.send({ kind: url.searchParams.get("kind") ?? "visit" });
          return new Response("queued", { status: 202 });
        }
        return withHyperdrive(env, ctx, async (sql) =>
          Response.json(await sql`select kind, count(*)::int as n from events group by kind order by kind`),
        );
      case "/counter":
        return env.COUNTERS.getByName(url.searchParams.get("name") ?? "home").fetch(request);
      case "/signup": {
        const instance = await env.SIGNUP.create({ params: { email: url.searchParams.get("email") ?? "" } });
        return Response.json({ id: instance.id }, { status: 202 });
      }
      case "/signup/status": {
        const instance = await env.SIGNUP.get(url.searchParams.get("id") ?? "");
        return Response.json(await instance.status());
      }
      case "/users":
        return withHyperdrive(env, ctx, async (sql) =>
          Response.json(await sql`select email, welcomed from users order by id`),
        );
      default:
        return new Response("try /events, /counter, /signup?email=…, /users", { status: 404 });
    }
  },

  // Cron trigger: `ctx` is the handler's third argument, as in fetch.
  async scheduled(_controller, env, ctx) {
    await withHyperdrive(env, ctx, async (sql) => {
      await sql`delete from events where at < now() - interval '7 days'`;
    });
  },

  // Queue consumer: one handle for the whole batch, closed once the batch is done.
  async queue(batch, env, ctx) {
    await withHyperdrive(env, ctx, async (sql) => {
      for (const message of batch.messages) {
        await sql`insert into events (kind) values (${message.body.kind})`;
        message.ack();
      }
    });
  },
} satisfies ExportedHandler<Env, { kind: string }>;

/** A hit counter per name, kept in the database; an alarm writes a `counter-flushed` event a second later. */
export class Counter extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    const name = new URL(request.url).searchParams.get("name") ?? "home";
    // `this.ctx`, the object's own context: one handle per request, as Cloudflare advises for Durable Objects.
    const hits = await withHyperdrive(this.env, this.ctx, async (sql) => {
      const [row] = await sql<{ hits: number }[]>`
        insert into counters (name, hits) values (${name}, 1)
        on conflict (name) do update set hits = counters.hits + 1
        returning hits`;
      return row?.hits ?? 0;
    });
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + 1000);
    return Response.json({ name, hits });
  }

  override async alarm(): Promise<void> {
    await withHyperdrive(this.env, this.ctx, async (sql) => {
      await sql`insert into events (kind) values ('counter-flushed')`;
    });
  }
}

/** Signs a user up, then welcomes them: the handle is opened inside each step, never around them. */
export class Signup extends WorkflowEntrypoint<Env, { email: string }> {
  override async run(event: WorkflowEvent<{ email: string }>, step: WorkflowStep): Promise<number | null> {
    const id = await step.do("create the user", () =>
      withHyperdrive(this.env, this.ctx, async (sql) => {
        const [user] = await sql<{ id: number }[]>`
          insert into users (email) values (${event.payload.email})
          on conflict (email) do update set email = excluded.email
          returning id`;
        return user?.id ?? null;
      }),
    );
    await step.do("welcome the user", () =>
      withHyperdrive(this.env, this.ctx, async (sql) => {
        await sql`update users set welcomed = true where id = ${id}`;
      }),
    );
    return id;
  }
}
