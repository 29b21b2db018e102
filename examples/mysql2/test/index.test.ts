import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const worker = (exports as unknown as { default: Fetcher }).default;

describe("example Worker", () => {
  it("greets the world by default", async () => {
    const response = await worker.fetch("http://example/");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("hello, world");
  });

  it("greets the name given in ?name=, bound as a value", async () => {
    const response = await worker.fetch(`http://example/?name=${encodeURIComponent("O'Brien")}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("hello, O'Brien");
  });

  it("lists the seeded todos", async () => {
    const response = await worker.fetch("http://example/todos");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([
      { id: 1, title: "Create the connection inside the handler", done: true },
      { id: 2, title: "Deploy", done: false },
    ]);
  });

  it("answers 503 with the code and the fix when the database is down", async () => {
    const response = await worker.fetch("http://example/todos?binding=DOWN");
    expect(response.status).toBe(503);
    const body = (await response.json()) as { code: string; message: string; fix: string };
    expect(body.code).toMatch(/^HDK_/);
    expect(body.message).toContain(body.code);
    expect(body.fix).not.toBe("");
  });
});
