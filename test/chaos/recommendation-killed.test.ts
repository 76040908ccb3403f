// Scenario 4: recommendation (the Python service) is SIGKILLed while buyers check out. Order
// reports purchases to it best effort, behind a breaker, so checkout must not notice at all.
import { invariantSummary, recordScenario } from "./report.js";
import { createBuyer, invariantsSettled, productIds, type Buyer } from "./shop.js";
import { createUnaryClient, newUser } from "./edge-client.js";
import { startLoad, summarize } from "./load.js";
import { meshPids, meshUp, rememberReplicas, sleep, stopProcess } from "./mesh-control.js";

const BUYERS = 4;
const edge = createUnaryClient();

afterAll(async () => {
  await meshUp();
  edge.close();
});

it("keeps checkout working, without errors, while recommendation is dead", async () => {
  await rememberReplicas();
  const t0 = performance.now();
  const [product] = await productIds(edge, 1);
  const buyers: Buyer[] = await Promise.all(Array.from({ length: BUYERS }, async () => createBuyer(edge, await newUser(edge), product!)));

  const load = startLoad(BUYERS, (w) => buyers[w]!.step(8_000));
  await sleep(2_500);
  const killAt = performance.now();
  const recPid = await stopProcess("recommendation", "SIGKILL");
  await sleep(5_000);
  const upAt = performance.now();
  await meshUp();
  const servingAt = performance.now();
  await sleep(2_000);
  const outcomes = await load.stop();
  const inv = await invariantsSettled();
  const after = await meshPids();

  const before = outcomes.filter((o) => o.at < killAt);
  const fault = outcomes.filter((o) => o.at >= killAt && o.at < servingAt);
  const recovered = outcomes.filter((o) => o.at >= servingAt);
  expect(before.length).toBeGreaterThan(5);
  expect(fault.length).toBeGreaterThan(10);
  expect(summarize(outcomes).errors).toEqual({});
  expect(after.get("recommendation")).not.toBe(recPid);
  expect(inv.violations).toEqual([]);

  const r = (x: number) => Math.round(x);
  recordScenario({
    id: "4-recommendation-killed", title: "Recommendation killed during checkout",
    ranAt: new Date().toISOString(), durationS: r((performance.now() - t0) / 1000),
    done: [
      `${BUYERS} users place orders back to back through the edge (PlaceOrder after AddItem).`,
      "After 2.5 s, recommendation (Python, grpcio) is SIGKILLed by its recorded pid; the load runs 5 s against it dead.",
      "Recommendation is restarted by `cli.js up`; the load runs 2 s more; then the invariant.",
    ],
    load: `${BUYERS} concurrent buyers, closed loop, PlaceOrder through the edge.`,
    phases: { before: summarize(before), fault: summarize(fault), recovery: summarize(recovered) },
    faults: ["recommendation SIGKILLed mid-load (order's best-effort RecordPurchase calls fail behind their breaker)"],
    figures: {
      "failed checkouts while recommendation was dead": fault.filter((o) => o.code !== 0).length,
      "checkout p99 ms before / during the outage": `${summarize(before).p99Ms} / ${summarize(fault).p99Ms}`,
      "orders confirmed during the outage": fault.filter((o) => o.code === 0).length,
      "restart (cli up) ms": r(servingAt - upAt),
    },
    lost: "nothing: every checkout succeeded; only the purchase counts of the orders placed during the outage are missing from recommendation (best effort by design).",
    invariants: invariantSummary(inv),
  });
}, 90_000);
