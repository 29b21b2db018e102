import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const worker = (exports as unknown as { default: Fetcher }).default;

describe("example Worker", () => {
  it("lists the seeded todos", async () => {
    const response = await worker.fetch("http://example/todos");
    expect(response.status).toBe(200);
    const todos = (await response.json()) as Array<{ id: number; title: string }>;
    expect(todos).toHaveLength(4);
    expect(todos[0]).toMatchObject({ id: 1, title: "Create the client inside the handler", done: true });
  });

  it("streams rows with a cursor after the callback has returned", async () => {
    const response = await worker.fetch("http://example/todos/stream");
    const lines = (await response.text()).trim().split("\n");
    expect(lines.map((line) => JSON.parse(line).id)).toEqual([1, 2, 3, 4]);
  });

  it("answers the index with the database time", async () => {
    const body = (await (await worker.fetch("http://example/")).json()) as { now: string };
    expect(Number.isNaN(Date.parse(body.now))).toBe(false);
  });
});
