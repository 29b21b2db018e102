/**
 * The Worker of `framing.test.ts`: each kind of `Response` a handler returns, as it is (`through=raw`) and settled
 * by a request scope (`through=scope`), which is what every adapter's `withHyperdrive` does with it.
 */
import { openScope } from "../../src/scope.ts";

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
    case "noContent":
      return new Response(null, { status: 204, headers });
    default:
      return new Response(`no kind ${kind}`, { status: 404 });
  }
}

export default {
  async fetch(request, _env, ctx) {
    const url = new URL(request.url);
    const response = respond(url.searchParams.get("kind") ?? "");
    if (url.searchParams.get("through") !== "scope") return response;
    const scope = openScope(ctx);
    return scope.settle(response);
  },
} satisfies ExportedHandler;
