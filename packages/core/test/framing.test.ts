/**
 * The framing a client gets over HTTP from `wrangler dev` (workerd), for the same response with and without a
 * request scope: `Content-Length` when the length is known, chunked when it is not; and when teardown starts. A
 * service binding (the Vitest plugin's `exports`) hides both headers, so this test talks HTTP from Node.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { get } from "node:http";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Each kind of body the Worker answers with, and the framing a client must see for it. */
const KINDS = {
  json: "length",
  text: "length",
  bytes: "length",
  blob: "length",
  empty: "length",
  expected: "length",
  fixed: "length",
  large: "length",
  stream: "chunked",
  noContent: "none",
} as const;

interface Answer {
  status: number;
  contentLength: string | undefined;
  transferEncoding: string | undefined;
  kind: string | undefined;
  body: string;
}

let wrangler: ChildProcess | undefined;
let origin = "";
let output = "";

function request(path: string, method: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = get(`${origin}${path}`, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          contentLength: res.headers["content-length"],
          transferEncoding: res.headers["transfer-encoding"],
          kind: res.headers["x-kind"] as string | undefined,
          body,
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  const port = await freePort();
  origin = `http://127.0.0.1:${port}`;
  const bin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");
  const config = fileURLToPath(new URL("./framing/wrangler.jsonc", import.meta.url));
  wrangler = spawn(
    process.execPath,
    [
      bin,
      "dev",
      "--config",
      config,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--show-interactive-dev-session=false",
    ],
    { env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  wrangler.stdout?.on("data", (chunk) => (output += chunk));
  wrangler.stderr?.on("data", (chunk) => (output += chunk));
  const until = Date.now() + 90_000;
  for (;;) {
    try {
      if ((await request("/?kind=text&through=raw", "GET")).status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (wrangler.exitCode !== null || Date.now() > until) {
      throw new Error(`wrangler dev did not start (is wrangler installed? run pnpm install):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}, 120_000);

afterAll(() => {
  wrangler?.kill();
});

describe("a settled Response keeps its framing over HTTP", () => {
  for (const [kind, framing] of Object.entries(KINDS)) {
    it(`${kind}: ${framing === "length" ? "Content-Length" : framing === "chunked" ? "chunked" : "no body"}, as without the scope`, async () => {
      for (const method of ["GET", "HEAD"]) {
        const raw = await request(`/?kind=${kind}&through=raw`, method);
        const scoped = await request(`/?kind=${kind}&through=scope`, method);
        expect(scoped, `${method} ${kind}`).toEqual(raw);
      }
      const raw = await request(`/?kind=${kind}&through=raw`, "GET");
      expect(raw.kind).toBe(kind);
      if (framing === "length") {
        expect(raw.contentLength).toBe(String(Buffer.byteLength(raw.body)));
        expect(raw.transferEncoding).toBeUndefined();
      } else if (framing === "chunked") {
        expect(raw.transferEncoding).toBe("chunked");
        expect(raw.contentLength).toBeUndefined();
      } else {
        expect(raw.status).toBe(204);
      }
    });
  }
});

describe("when teardown starts", () => {
  const answer = async (kind: string) => JSON.parse((await request(`/teardown?kind=${kind}`, "GET")).body);

  for (const kind of ["json", "text", "bytes", "blob", "empty", "expected", "fixed"]) {
    it(`${kind}: read into memory, so teardown finishes before anyone reads the body`, async () => {
      expect(await answer(kind)).toMatchObject({ beforeRead: "closed", closes: 1, status: 200 });
    });
  }

  for (const kind of ["stream", "large"]) {
    it(`${kind}: teardown waits until the body has been read`, async () => {
      const result = await answer(kind);
      expect(result).toMatchObject({ beforeRead: "still open", closes: 1, status: 200 });
      expect(result.length).toBe(kind === "large" ? 1024 * 1024 + 1 : 5);
    });
  }

  it("a body of known length that fails to read rejects settle(), after scheduling teardown", async () => {
    expect(await answer("failing")).toEqual({ rejected: "Error: the body failed", closes: 1 });
  });
});

describe("a streamed body read by the runtime", () => {
  it("runs every pull in the request scope, not only the first few", async () => {
    const lines = (await request("/pulls", "GET")).body.trim().split("\n");
    expect(lines).toEqual(Array(20).fill("ok"));
  });
});
