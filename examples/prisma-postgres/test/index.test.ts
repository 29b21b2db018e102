import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const worker = (exports as unknown as { default: Fetcher }).default;

describe("example Worker (Prisma on PostgreSQL)", () => {
  it("lists the seeded todos", async () => {
    const response = await worker.fetch("http://example/todos");
    expect(response.status).toBe(200);
    const todos = (await response.json()) as Array<{ id: number; title: string }>;
    expect(todos.slice(0, 3).map((todo) => todo.title)).toEqual([
      "Create the PrismaClient inside the handler",
      "Let the request own the pg Pool under it",
      "Deploy",
    ]);
  });

  it("creates a todo, then counts it in a batch $transaction", async () => {
    const created = await worker.fetch("http://example/todos", {
      method: "POST",
      body: JSON.stringify({ title: "Test" }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ title: "Test", done: false });
    const counts = (await (await worker.fetch("http://example/")).json()) as { open: number; done: number };
    expect(counts).toMatchObject({ open: 2, done: 2 });
  });

  it("answers 404 for other paths", async () => {
    expect((await worker.fetch("http://example/nope")).status).toBe(404);
  });
});
