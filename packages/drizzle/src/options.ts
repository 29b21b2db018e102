/** Drizzle's own options, passed through to `drizzle()`; every other key is hyperdrive-kit's. */
const DRIZZLE_KEYS = new Set(["schema", "casing", "logger", "cache", "mode"]);

/** Splits one options object into Drizzle's config and the handle's options (which the adapter checks). */
export function splitOptions<Config, Rest>(options: object | undefined): [Config, Rest] {
  const config: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options ?? {})) (DRIZZLE_KEYS.has(key) ? config : rest)[key] = value;
  return [config as Config, rest as Rest];
}
