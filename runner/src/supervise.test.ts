// The supervisor's restart backoff (pure). What it restarts, and how fast, is proven against the
// running mesh by test/chaos/supervised-kill.test.ts.
import { backoffMs } from "./supervise.js";

test("the first restart in a row is at once, then 1, 2, 4 … s, never more than 30 s", () => {
  expect([0, 1, 2, 3, 4, 5, 6, 7, 20].map(backoffMs)).toEqual([0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});
