/** What every bench mode drives: the bench Worker's routes, variants and queries, and how to ask it. */
import type { FaultProxy } from "@hyperdrive-kit/testing/proxy";
import type { Engine } from "./setup.ts";

export const ROUTES = ["pg", "pg-pool", "postgres", "mysql2", "mysql2-pool", "mysql"] as const;
export const VARIANTS = ["floor", "docs", "kit", "kit-none"] as const;
/**
 * The floor again under another name: an A/A control. Its ratio to the floor is what the bench reads when nothing
 * differs, so a kit/floor ratio inside that band is not a difference this run can show. Only `pnpm bench` times it.
 */
export const CONTROL = "floor-again";
export const QUERIES = ["plain", "param"] as const;
export type Route = (typeof ROUTES)[number];
export type Variant = (typeof VARIANTS)[number];

export const numberFrom = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
};

/** The routes `HDK_BENCH_ONLY` (comma-separated) selects, all by default. */
export function selectedRoutes(): Route[] {
  const only = process.env.HDK_BENCH_ONLY?.split(",").filter(Boolean);
  return ROUTES.filter((route) => !only || only.includes(route));
}

/** The database a route talks to (a route named in an environment variable is a plain string). */
export const engineOf = (route: string): Engine =>
  route.startsWith("pg") || route === "postgres" ? "postgres" : "mysql";

export const path = (route: Route, variant: string, query: string) => `/${route}/${variant}/${query}`;

/** One value per name, keyed by the name (a variant, say). */
export const keyedBy = <K extends string, T>(names: readonly K[], make: (name: K) => T) =>
  Object.fromEntries(names.map((name) => [name, make(name)])) as Record<K, T>;

/** One request; resolves to its time in ms once the whole body is in. Anything but a 200 fails the bench. */
export async function get(origin: string, at: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${origin}${at}`);
  const body = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`${at}: ${response.status} ${body.slice(0, 300)}`);
  return ms;
}

/** Checks again every 2 ms, which leaves the CPU to workerd between checks. */
const everyTwoMs = () => new Promise((resolve) => setTimeout(resolve, 2));

/**
 * Waits until the proxy has no connection left (every teardown, and the runtime's own closes, are done), or gives up
 * after `timeoutMs`; resolves to whether they all closed. `tick` is what to wait between checks.
 */
export async function closed(
  proxy: FaultProxy,
  timeoutMs = 5000,
  tick: () => Promise<unknown> = everyTwoMs,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (proxy.connections > 0) {
    if (performance.now() > deadline) return false;
    await tick();
  }
  return true;
}
