import { sleep, waitFor } from "./sleep.js";

test("resolves after the time", async () => {
  const t0 = performance.now();
  await sleep(30);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
});

test("rejects with the signal's reason when it aborts first, or already has", async () => {
  const ac = new AbortController();
  const p = sleep(10_000, ac.signal);
  ac.abort(new Error("stop"));
  await expect(p).rejects.toThrow("stop");
  await expect(sleep(0, ac.signal)).rejects.toThrow("stop");
});

describe("waitFor", () => {
  it("gives the promise's value, or that it failed", async () => {
    expect(await waitFor(Promise.resolve(7), 1000)).toEqual({ ok: true, value: 7 });
    expect(await waitFor(Promise.reject(new Error("no")), 1000)).toEqual({ ok: false });
  });

  it("gives up when the time runs out, when the signal aborts, or when it already had", async () => {
    const never = new Promise<number>(() => {});
    expect(await waitFor(never, 20)).toBe("gave up");
    expect(await waitFor(Promise.resolve(1), 0)).toBe("gave up");
    const ac = new AbortController();
    const waiting = waitFor(never, Infinity, ac.signal);
    ac.abort();
    expect(await waiting).toBe("gave up");
    expect(await waitFor(Promise.resolve(1), Infinity, ac.signal)).toBe("gave up");
  });

  it("waits without a bound when given Infinity", async () => {
    const later = new Promise<string>((r) => setTimeout(() => r("late"), 50));
    expect(await waitFor(later, Infinity)).toEqual({ ok: true, value: "late" });
  });
});
