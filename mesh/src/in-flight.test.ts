// InFlight: a run is found under its key until it settles, resolved or rejected, and a later run
// under the same key is not forgotten when the earlier one settles.
import { InFlight } from "./in-flight.js";

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}
const settled = () => new Promise((r) => setImmediate(r));

test("finds a run by its key until it resolves, and returns its own promise", async () => {
  const runs = new InFlight<number>();
  const d = deferred<number>();
  const p = runs.run("a", () => d.promise);
  expect(runs.get("a")).toBe(p);
  expect(runs.has("a")).toBe(true);
  expect(runs.has("b")).toBe(false);
  d.resolve(7);
  expect(await p).toBe(7);
  await settled();
  expect(runs.has("a")).toBe(false);
});

test("forgets a run that rejected, and the rejection still reaches its caller", async () => {
  const runs = new InFlight<number>();
  const d = deferred<number>();
  const p = runs.run("a", () => d.promise);
  d.reject(new Error("boom"));
  await expect(p).rejects.toThrow("boom");
  await settled();
  expect(runs.get("a")).toBeUndefined();
});

test("a later run under the key stays when the earlier one settles", async () => {
  const runs = new InFlight<string>();
  const first = deferred<string>();
  const second = deferred<string>();
  runs.run("k", () => first.promise);
  const p2 = runs.run("k", () => second.promise);
  first.resolve("first");
  await settled();
  expect(runs.get("k")).toBe(p2);
  second.resolve("second");
  await settled();
  expect(runs.has("k")).toBe(false);
});
