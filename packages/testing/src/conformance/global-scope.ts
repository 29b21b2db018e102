/**
 * A Worker that misuses a handle at global scope, bundled and loaded by workerd as a real script (the test runner
 * imports test modules inside a request, where global-scope rules do not apply). It reports what it caught.
 */
export function globalScopeWorker(attempt: (ctx: ExecutionContext) => Promise<unknown>): ExportedHandler {
  let outcome: { code?: unknown; message: string } = { message: "nothing was thrown" };
  const fakeContext = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  try {
    attempt(fakeContext).catch((error: { code?: unknown; message: string }) => {
      outcome = { code: error.code, message: error.message };
    });
  } catch (error) {
    const e = error as { code?: unknown; message: string };
    outcome = { code: e.code, message: e.message };
  }
  return { fetch: () => Response.json(outcome) };
}
