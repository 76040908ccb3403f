// Scenario 8: the money path under crashes. Workers send duplicate PlaceOrder calls (three at once
// per request_id, a small set of request_ids in flight) through the edge, while order and payment
// are SIGKILLed at random moments, round after round, and restarted by the runner. Order runs with
// a short lease and sweeper interval, so abandoned orders are settled within seconds. After the
// sweeper has run, the three books must balance: the processor's ledger (captures minus refunds
// equal the confirmed orders' totals, at most one capture per key, every capture kept belongs to a
// CONFIRMED order), no order PENDING.
import { randomUUID } from "node:crypto";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { invariantSummary, recordScenario } from "./report.js";
import { invariantsSettled, productIds } from "./shop.js";
import { createUnaryClient, GOOD_CARD, newUser, type Outcome, type TestUser } from "./edge-client.js";
import { startLoad, summarize } from "./load.js";
import { meshUp, rememberReplicas, sleep, stopProcess } from "./mesh-control.js";

const WORKERS = 6;
const DUPLICATES = 3;
const ROUNDS = 6;
const FAST_SWEEP = { ORDER_LEASE_MS: "2000", ORDER_SWEEP_INTERVAL_MS: "500" };
const edge = createUnaryClient();

afterAll(async () => {
  // Back to the default lease and sweeper for the next scenario.
  await stopProcess("order", "SIGTERM").catch(() => undefined);
  await meshUp();
  edge.close();
});

interface Worker {
  user: TestUser;
  requestId: string;
  cartFilled: boolean;
}

it("keeps the books balanced while order and payment are killed at random points of checkouts", async () => {
  await rememberReplicas();
  const t0 = performance.now();
  const [product] = await productIds(edge, 1);
  const workers: Worker[] = await Promise.all(Array.from({ length: WORKERS }, async () => ({ user: await newUser(edge, "torture"), requestId: randomUUID(), cartFilled: false })));
  await stopProcess("order", "SIGTERM");
  await meshUp(FAST_SWEEP);

  // One step: DUPLICATES concurrent PlaceOrder calls with the worker's request_id. A new request_id
  // only once the order is final (CONFIRMED, or FAILED_PRECONDITION).
  const step = async (w: number): Promise<Outcome[]> => {
    const wk = workers[w]!;
    if (!wk.cartFilled) {
      const r = await edge.call(CartService.method.addItem, { productId: product!, quantity: 1 }, { token: wk.user.token, timeoutMs: 5_000 });
      if (r.code !== 0) {
        await sleep(100);
        return [r];
      }
      wk.cartFilled = true;
    }
    const calls = await Promise.all(Array.from({ length: DUPLICATES }, () =>
      edge.call(OrderService.method.placeOrder, { requestId: wk.requestId, card: GOOD_CARD }, { token: wk.user.token, timeoutMs: 8_000 })));
    if (calls.some((o) => o.code === 0)) {
      wk.cartFilled = false;
      wk.requestId = randomUUID();
    } else if (calls.every((o) => o.codeName === "FAILED_PRECONDITION")) {
      wk.requestId = randomUUID();
    } else {
      await sleep(100);
    }
    return calls;
  };
  const load = startLoad(WORKERS, (w) => step(w));
  const kills: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await sleep(500 + Math.random() * 1500);
    // Both services die at least twice; which one first, and when, is random.
    const victim = round % 2 === (Math.random() < 0.5 ? 0 : 1) ? "order" : "payment";
    kills.push(victim);
    await stopProcess(victim, "SIGKILL");
    await sleep(Math.random() * 500);
    await meshUp(FAST_SWEEP);
  }
  await sleep(2_000);
  const outcomes = await load.stop();
  // The sweeper settles what the crashes left PENDING (lease 2 s, a round every 0.5 s).
  const inv = await invariantsSettled(30_000);
  const s = summarize(outcomes);
  console.log(`torture: ${ROUNDS} rounds, kills ${kills.join(", ")}; ${s.calls} calls, ${s.ok} OK; books: ${inv.confirmedOrders} confirmed ` +
    `(${inv.confirmedTotalMinor}), ${inv.failedOrders} failed, ${inv.pendingOrders} pending; ledger ${inv.captures} captures, ` +
    `${inv.refundedCharges} refunded, ${inv.chargedTotalMinor} kept; violations ${inv.violations.length}`);

  expect(inv.violations).toEqual([]);
  expect(inv.pendingOrders).toBe(0);
  expect(inv.confirmedTotalMinor).toBe(inv.chargedTotalMinor);
  expect(kills).toContain("order");
  expect(kills).toContain("payment");
  expect(s.ok).toBeGreaterThan(0);

  recordScenario({
    id: "8-torture", title: "Order and payment killed at random points of duplicate checkouts",
    ranAt: new Date().toISOString(), durationS: Math.round((performance.now() - t0) / 1000),
    done: [
      `Order is restarted with ORDER_LEASE_MS=${FAST_SWEEP.ORDER_LEASE_MS} and ORDER_SWEEP_INTERVAL_MS=${FAST_SWEEP.ORDER_SWEEP_INTERVAL_MS}.`,
      `${WORKERS} users each send ${DUPLICATES} PlaceOrder calls at once with one request_id, and keep it until the order is final.`,
      `${ROUNDS} rounds: after 0.5–2 s, order or payment (alternating, random start) is SIGKILLed and the runner restarts it.`,
      "The load stops; the invariant is polled until the sweeper has settled every order (30 s at most).",
    ],
    load: `${WORKERS} closed-loop workers × ${DUPLICATES} duplicate PlaceOrder calls through the edge (8 s deadline).`,
    phases: { torture: s },
    faults: kills.map((k, i) => `round ${i + 1}: ${k} SIGKILLed`),
    figures: {
      rounds: ROUNDS,
      "orders confirmed / failed / pending": `${inv.confirmedOrders} / ${inv.failedOrders} / ${inv.pendingOrders}`,
      "processor captures / refunded / kept (minor units)": `${inv.captures} / ${inv.refundedCharges} / ${inv.chargedTotalMinor}`,
      "confirmed orders' total (minor units)": inv.confirmedTotalMinor,
    },
    lost: "nothing: captures minus refunds equal the confirmed totals, one capture per key at most, and no order is left PENDING.",
    invariants: invariantSummary(inv),
  });
}, 180_000);
