/**
 * Reads a Node row stream (mysql's and mysql2's `query().stream()`) as a slow consumer does: paused while each row
 * is handled. Events, not `for await`: mysqljs's stream comes from readable-stream 2, which is not async iterable.
 */
export function readRowStream(
  stream: NodeJS.ReadableStream,
  each: (row: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on("error", reject);
    stream.on("end", resolve);
    stream.on("data", (row) => {
      stream.pause();
      each(row as unknown as Record<string, unknown>)
        .then(() => stream.resume())
        .catch(reject);
    });
  });
}
