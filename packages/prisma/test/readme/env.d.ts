// The Worker's bindings, as `wrangler types` would write them.
interface Env {
  HYPERDRIVE: Hyperdrive;
}
