import { sleep } from "./sleep.js";

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
