import { findHyperdriveError, withPrisma } from "@hyperdrive-kit/prisma/pg";
import { PrismaClient } from "./generated/prisma/client.ts";

interface Env {
  HYPERDRIVE: Hyperdrive;
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    return withPrisma(
      env,
      ctx,
      async (prisma) => {
        if (url.pathname === "/todos" && request.method === "POST") {
          const { title } = (await request.json()) as { title: string };
          return Response.json(await prisma.todo.create({ data: { title } }), { status: 201 });
        }
        if (url.pathname === "/todos") {
          return Response.json(await prisma.todo.findMany({ orderBy: { id: "asc" } }));
        }
        if (url.pathname === "/") {
          const [open, done] = await prisma.$transaction([
            prisma.todo.count({ where: { done: false } }),
            prisma.todo.count({ where: { done: true } }),
          ]);
          return Response.json({ open, done, try: ["/todos", "POST /todos"] });
        }
        return new Response("Not found", { status: 404 });
      },
      { PrismaClient },
    ).catch((error: unknown) => {
      // Lifecycle, connection and Hyperdrive errors carry a stable code and the fix, also inside Prisma's errors.
      const typed = findHyperdriveError(error);
      if (typed) return Response.json({ code: typed.code, fix: typed.fix }, { status: 503 });
      throw error;
    });
  },
} satisfies ExportedHandler<Env>;
