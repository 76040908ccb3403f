// Scenario 6: duplicate storms. 100 concurrent PlaceOrder with one request_id through the edge
// must make one order and one charge; 100 concurrent Charge with one idempotency key, straight
// to payment as order does it (order's mTLS identity plus the user's JWT), must make one charge.
import { randomUUID } from "node:crypto";
import { MongoClient } from "mongodb";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import { readCharges, readOrders } from "@shopmesh/books";
import { invariantSummary, recordScenario } from "./report.js";
import { addItem, invariantsSettled, MONGO_URL, productIds } from "./shop.js";
import { createServiceClient, createUnaryClient, GOOD_CARD, newUser, type Outcome } from "./edge-client.js";
import { summarize } from "./load.js";
import { rememberReplicas } from "./mesh-control.js";

const STORM = 100;
const PAYMENT_PORT = 50054;
const edge = createUnaryClient();
const payment = createServiceClient("payment", PAYMENT_PORT, "order");
const mongo = new MongoClient(MONGO_URL, { serverSelectionTimeoutMS: 5000 });
const figures: Record<string, number | string> = {};
const phases: Record<string, ReturnType<typeof summarize>> = {};
let t0 = 0;

beforeAll(async () => {
  await rememberReplicas();
  t0 = performance.now();
});

afterAll(async () => {
  edge.close();
  payment.close();
  await mongo.close();
});

it("turns 100 concurrent PlaceOrder with one request_id into one order and one charge", async () => {
  const [p1, p2] = await productIds(edge, 2);
  const user = await newUser(edge);
  await addItem(edge, user, p1!, 2);
  await addItem(edge, user, p2!, 1);
  const requestId = randomUUID();
  const storm = await Promise.all(Array.from({ length: STORM }, () =>
    edge.call(OrderService.method.placeOrder, { requestId, card: GOOD_CARD }, { token: user.token, timeoutMs: 30_000 })));
  phases["PlaceOrder storm"] = summarize(storm);

  // The contract: every duplicate gets the one order, or ABORTED ("being placed by another
  // call; retry later") after waiting 10 s for it. A careful client retries those with the same
  // request_id, and must then get the same order.
  const aborted = storm.filter((o) => o.codeName === "ABORTED");
  expect(storm.filter((o) => o.code !== 0 && o.codeName !== "ABORTED")).toEqual([]);
  const retried = await Promise.all(aborted.map(() =>
    edge.call(OrderService.method.placeOrder, { requestId, card: GOOD_CARD }, { token: user.token, timeoutMs: 30_000 })));
  phases["retries of the ABORTED answers"] = summarize(retried);
  const ok = [...storm, ...retried].filter((o) => o.code === 0);
  const orderIds = new Set(ok.map((o) => o.res!.order!.id));
  expect(ok.length).toBe(STORM);
  expect(orderIds.size).toBe(1);
  const [orderId] = [...orderIds];
  const orders = await readOrders(mongo, { userId: user.id, requestId });
  const charges = await readCharges(mongo, [orderId!]);
  expect(orders.map((o) => [o.id, o.status])).toEqual([[orderId, "CONFIRMED"]]);
  expect(charges.map((c) => c.status)).toEqual(["SUCCEEDED"]);
  expect(Number(charges[0]!.amountMinor)).toBe(Number(orders[0]!.totalMinor));
  figures["PlaceOrder storm: calls / OK at once / ABORTED then OK on retry / distinct orders / charges in the database"] =
    `${STORM} / ${STORM - aborted.length} / ${aborted.length} / ${orders.length} / ${charges.length}`;
  figures["PlaceOrder storm: median / slowest answer ms (one order normally takes ~0.4 s)"] = `${phases["PlaceOrder storm"].p50Ms} / ${phases["PlaceOrder storm"].maxMs}`;
}, 60_000);

it("turns 100 concurrent Charge with one idempotency key into one charge", async () => {
  const user = await newUser(edge);
  const key = `chaos-storm-${randomUUID()}`;
  const amount = { currencyCode: "USD", amountMinor: 1234n };
  const storm: Outcome[] = await Promise.all(Array.from({ length: STORM }, () =>
    payment.call(PaymentService.method.charge, { idempotencyKey: key, amount, card: GOOD_CARD }, { token: user.token, timeoutMs: 30_000 })));
  phases["Charge storm"] = summarize(storm);

  const ok = storm.filter((o) => o.code === 0) as Outcome<{ charge?: { id: string } }>[];
  const chargeIds = new Set(ok.map((o) => o.res!.charge!.id));
  const charges = await readCharges(mongo, [key]);
  // A charge with no order breaks the money invariant by design: refund every charge of the key,
  // as order's compensation would, whatever the assertions below say, so later scenarios start
  // from a sound database.
  const refunds = await Promise.all(charges.filter((c) => c.status === "SUCCEEDED").map((c) =>
    payment.call(PaymentService.method.refund, { chargeId: c.id, reason: "chaos storm test charge" }, { token: user.token })));
  expect(ok.length).toBe(STORM);
  expect(chargeIds.size).toBe(1);
  expect(charges.map((c) => [c.id, c.status, c.amountMinor])).toEqual([[[...chargeIds][0], "SUCCEEDED", 1234]]);
  expect(refunds.map((r) => r.code)).toEqual([0]);
  const inv = await invariantsSettled();
  expect(inv.violations).toEqual([]);
  figures["Charge storm: calls / answered OK / distinct charges / charges in the database"] = `${STORM} / ${ok.length} / ${chargeIds.size} / ${charges.length}`;
  figures["Charge storm: slowest answer ms"] = phases["Charge storm"].maxMs;

  recordScenario({
    id: "6-duplicate-storms", title: "Duplicate storms (one request_id, one idempotency key)",
    ranAt: new Date().toISOString(), durationS: Math.round((performance.now() - t0) / 1000),
    done: [
      `A user fills a cart (two products) and sends ${STORM} PlaceOrder calls at once through the edge, all with one request_id.`,
      "Every ABORTED answer (the documented \"retry later\" after 10 s of waiting for the first call) is retried once with the same request_id.",
      "The order and payment databases are read directly: orders with that (user, request_id), charges with the order's id as key.",
      `${STORM} Charge calls at once, with one idempotency key, straight to payment (127.0.0.1:50054) with order's mTLS certificate and a user's JWT.`,
      "The charges with that key are read from payment's database; the test charge is refunded (it has no order); then the invariant.",
    ],
    load: `${STORM} concurrent identical PlaceOrder calls (one grpc-js connection to the edge), then ${STORM} concurrent identical Charge calls.`,
    phases,
    faults: ["a burst of duplicates: every caller races to reserve the same order and to insert the same charge key"],
    figures,
    lost: "nothing, and nothing doubled: one order and one charge of exactly its total; one charge for the key.",
    invariants: invariantSummary(inv),
  });
}, 60_000);
