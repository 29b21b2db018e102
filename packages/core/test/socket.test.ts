import { describe, expect, it, vi } from "vitest";
import { awaitServerClose, SERVER_CLOSE_GRACE_MS } from "../src/socket.ts";

describe("awaitServerClose", () => {
  it("waits for the server's close and leaves the socket alone", async () => {
    const destroy = vi.fn();
    await awaitServerClose(Promise.resolve(), destroy);
    expect(destroy).not.toHaveBeenCalled();
  });

  it("destroys a socket the server has not closed within the grace, then waits for it to close", async () => {
    vi.useFakeTimers();
    try {
      let markClosed!: () => void;
      const closed = new Promise<void>((resolve) => {
        markClosed = resolve;
      });
      const destroy = vi.fn(() => markClosed());
      let done = false;
      const waiting = awaitServerClose(closed, destroy).then(() => {
        done = true;
      });
      await vi.advanceTimersByTimeAsync(SERVER_CLOSE_GRACE_MS - 1);
      expect(destroy).not.toHaveBeenCalled();
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await waiting;
      expect(destroy).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
