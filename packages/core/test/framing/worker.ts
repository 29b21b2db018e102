/**
 * The Worker of `framing.test.ts`: each kind of `Response` a handler returns, as it is (`through=raw`) and settled
 * by a request scope (`through=scope`), which is what every adapter's `withHyperdrive` does with it.
 */
import { BUFFERED_BODY_LIMIT, openScope } from "../../src/scope.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function respond(kind: string): Response {
  const headers = { "x-kind": kind };
  switch (kind) {
    case "json":
      return Response.json({ kind }, { headers });
    case "text":
      return new Response(`kind ${kind}`, { headers });
    case "bytes":
      return new Response(bytes(`kind ${kind}`), { headers });
    case "blob":
      return new Response(new Blob([`kind ${kind}`]), { headers });
    case "empty":
      return new Response("", { headers });
    case "expected":
    case "stream":
      return new Response(
        new ReadableStream({
          ...(kind === "expected" ? { expectedLength: 5 } : {}),
          async pull(controller: ReadableStreamDefaultController<Uint8Array>) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            controller.enqueue(bytes("later"));
            controller.close();
          },
        } as UnderlyingSource<Uint8Array>),
        { headers },
      );
    case "fixed": {
      const { readable, writable } = new FixedLengthStream(5);
      setTimeout(async () => {
        const writer = writable.getWriter();
        await writer.write(bytes("later"));
        await writer.close();
      }, 5);
      return new Response(readable, { headers });
    }
    case "large":
      return new Response(new Uint8Array(BUFFERED_BODY_LIMIT + 1).fill(97), { headers });
    case "failing":
      return new Response(
        new ReadableStream({
          expectedLength: 5,
          pull(controller: ReadableStreamDefaultController<Uint8Array>) {
            controller.error(new Error("the body failed"));
          },
        } as UnderlyingSource<Uint8Array>),
        { headers },
      );
    case "noContent":
      return new Response(null, { status: 204, headers });
    default:
      return new Response(`no kind ${kind}`, { status: 404 });
  }
}

export default {
  async fetch(request, _env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/teardown") return teardownOrder(url.searchParams.get("kind") ?? "", ctx);
    if (url.pathname === "/pulls") return pullsInScope(ctx);
    const response = respond(url.searchParams.get("kind") ?? "");
    if (url.searchParams.get("through") !== "scope") return response;
    const scope = openScope(ctx);
    return scope.settle(response);
  },
} satisfies ExportedHandler;

/**
 * Whether teardown finishes while nobody has read the settled body yet (the body is read afterwards): it must for a
 * short body of known length, which `settle()` reads into memory, and must not for a streamed or a long one, whose
 * wrapper teardown waits for.
 */
async function teardownOrder(kind: string, ctx: ExecutionContext): Promise<Response> {
  const scope = openScope(ctx);
  let closes = 0;
  scope.onTeardown("pg", async () => {
    closes++;
  });
  let settled: Response;
  try {
    settled = await scope.settle(respond(kind));
  } catch (error) {
    await scope.closed;
    return Response.json({ rejected: String(error), closes });
  }
  const waited = await Promise.race([
    scope.closed.then(() => "closed"),
    new Promise((resolve) => setTimeout(resolve, 1000, "still open")),
  ]);
  const body = await settled.text();
  await scope.closed;
  return Response.json({ beforeRead: waited, closes, length: body.length, status: settled.status });
}

/**
 * A streamed body made in the scope (as a callback makes it) whose every pull says whether the scope is usable
 * there: workerd calls a pull in the context of whoever reads, and the runtime sending the response reads with none.
 */
function pullsInScope(ctx: ExecutionContext): Promise<Response> {
  const scope = openScope(ctx);
  let pulls = 0;
  const body = scope.run(
    () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          let line = "ok";
          try {
            scope.assertUsable();
          } catch (error) {
            line = (error as { code: string }).code;
          }
          controller.enqueue(bytes(`${line}\n`));
          if (++pulls === 20) controller.close();
        },
      }),
  );
  return scope.settle(new Response(body));
}
