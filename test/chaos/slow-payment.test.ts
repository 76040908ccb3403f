// Scenario 7: payment answers slower than the caller's deadline (PAYMENT_FAULT_LATENCY_MS).
// PlaceOrder must end with DEADLINE_EXCEEDED at the client's deadline; the saga then settles on
// its own budget (charge again with the same key, refund), so no charge stays without an order.
import { MongoClient } from "mongodb";
import { readCharges, readOrders } from "@shopmesh/books";
import { invariantSummary, recordScenario } from "./report.js";
import { createBuyer, invariantsSettled, MONGO_URL, productIds, type Buyer } from "./shop.js";
import { createUnaryClient, newUser } from "./edge-client.js";
import { summarize } from "./load.js";
import { meshUp, pidOf, processEnv, rememberReplicas, restorePayment, stopProcess } from "./mesh-control.js";

const BUYERS = 4;
const LATENCY_MS = 3_000;
const DEADLINE_MS = 1_000;
const edge = createUnaryClient();
const mongo = new MongoClient(MONGO_URL, { serverSelectionTimeoutMS: 5000 });

afterAll(async () => {
  // Never leave a slowed payment behind, whatever failed above.
  await restorePayment();
  edge.close();
  await mongo.close();
});

it("answers DEADLINE_EXCEEDED at the deadline and leaves no charge without an order or a refund", async () => {
  await rememberReplicas();
  const t0 = performance.now();
  const [product] = await productIds(edge, 1);
  const buyers: Buyer[] = await Promise.all(Array.from({ length: BUYERS }, async () => createBuyer(edge, await newUser(edge), product!)));

  await stopProcess("payment", "SIGTERM");
  await meshUp({ PAYMENT_FAULT_LATENCY_MS: String(LATENCY_MS) });
  expect(processEnv(await pidOf("payment")).PAYMENT_FAULT_LATENCY_MS).toBe(String(LATENCY_MS));

  const slow = await Promise.all(buyers.map((b) => b.step(DEADLINE_MS)));
  const sentAt = performance.now();
  const inv = await invariantsSettled(20_000);
  const settleMs = performance.now() - sentAt;
  const userIds = buyers.map((b) => b.user.id);
  const orders = await readOrders(mongo, { userId: { $in: userIds } });
  const charges = await readCharges(mongo, orders.map((o) => o.id));

  expect(slow.map((o) => o.codeName)).toEqual(buyers.map(() => "DEADLINE_EXCEEDED"));
  // At the deadline: not before it, and not much after it (grpc-js enforces it client-side).
  for (const o of slow) {
    expect(o.ms).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
    expect(o.ms).toBeLessThan(DEADLINE_MS + 300);
  }
  expect(inv.violations).toEqual([]);
  // Each order the saga recorded ended FAILED, and any charge it took was refunded.
  expect(orders.map((o) => o.status)).toEqual(orders.map(() => "FAILED"));
  expect(charges.filter((c) => c.status === "SUCCEEDED")).toEqual([]);

  // Back to normal speed, the same buyers check out (with a new request_id: the old one is spent).
  await stopProcess("payment", "SIGTERM");
  await meshUp();
  expect(processEnv(await pidOf("payment")).PAYMENT_FAULT_LATENCY_MS).toBeUndefined();
  const normal = await Promise.all(buyers.map((b) => b.step(10_000)));
  // The spent request_id answers FAILED_PRECONDITION once; the next attempt is a new order.
  const retried = await Promise.all(buyers.map((b, i) => (normal[i]!.code === 0 ? normal[i]! : b.step(10_000))));
  expect(retried.map((o) => o.codeName)).toEqual(buyers.map(() => "OK"));
  const after = await invariantsSettled();
  expect(after.violations).toEqual([]);

  const r = (x: number) => Math.round(x);
  recordScenario({
    id: "7-slow-payment", title: "Slow payment (latency above the caller's deadline)",
    ranAt: new Date().toISOString(), durationS: r((performance.now() - t0) / 1000),
    done: [
      `Payment is stopped (SIGTERM) and restarted by \`cli.js up\` with PAYMENT_FAULT_LATENCY_MS=${LATENCY_MS}.`,
      `${BUYERS} users with filled carts place an order at once, each with a ${DEADLINE_MS} ms client deadline.`,
      "The invariant is polled until it holds (the saga settles after its caller gave up); each user's orders and their charges are read from the databases.",
      "Payment is restarted without the knob; the same users order again and succeed; the invariant again.",
    ],
    load: `${BUYERS} concurrent PlaceOrder calls with a ${DEADLINE_MS} ms deadline against a payment that takes ${LATENCY_MS} ms.`,
    phases: { "slow payment": summarize(slow), "payment restored": summarize(retried) },
    faults: [`payment processor latency ${LATENCY_MS} ms, three times the caller's deadline`],
    figures: {
      "client deadline ms": DEADLINE_MS,
      "DEADLINE_EXCEEDED answered at ms (min / max)": `${Math.min(...slow.map((o) => r(o.ms)))} / ${Math.max(...slow.map((o) => r(o.ms)))}`,
      "deadline → invariant holds again ms (saga settled by asking payment: ResolveCharge closes the key)": r(settleMs),
      "orders recorded FAILED / charges refunded / charges left SUCCEEDED / attempts voided": `${orders.length} / ${charges.filter((c) => c.status === "REFUNDED").length} / 0 / ${charges.filter((c) => c.status === "DECLINED").length}`,
    },
    lost: "nothing: the checkouts failed visibly (DEADLINE_EXCEEDED), nothing was captured for them (or it was refunded), and the users ordered normally once payment was fast again.",
    invariants: invariantSummary(after),
  });
}, 120_000);
