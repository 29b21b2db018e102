/** What the README snippets assume, as `wrangler types` generates it for a Worker with one Hyperdrive binding. */
interface Env {
  HYPERDRIVE: Hyperdrive;
  /** From `.dev.vars`, which `wrangler types` reads too. */
  EXPOSE_ERROR_FIX: string;
}
