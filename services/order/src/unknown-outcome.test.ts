// The charge whose outcome order cannot know: payment is slower than the caller's deadline, so
// order's Charge call ends with DeadlineExceeded while payment may still be at the processor.
// Order settles it on its own budget by asking payment (ResolveCharge), which closes the key at
// the processor when nothing was taken: the order ends FAILED and nothing is captured, ever.
// Also, with the fixture catalog (which can forget a product): a cart product no longer sold.
import { Code } from "@connectrpc/connect";
import { checkInvariants } from "@shopmesh/books";
import { orderIdFor } from "./domain/orders.js";
import { CARD, type CheckoutFixture, eventually, failureOf, LAMP, startCheckoutFixture } from "./testing/checkout-fixture.js";

let f: CheckoutFixture;

beforeAll(async () => {
  f = await startCheckoutFixture({
    paymentEnv: { PAYMENT_FAULT_LATENCY_MS: "600" },
    products: [LAMP, { id: "gone", name: "Soon gone", priceMinor: 100 }],
  });
}, 60_000);

afterAll(() => f.stop());

test("a Charge past the caller's deadline is settled by asking payment: order FAILED, nothing captured, cart intact", async () => {
  const u = await f.user("kim");
  await f.cart.addItem({ productId: LAMP.id, quantity: 1 }, u);
  expect((await failureOf(f.orders.placeOrder({ requestId: "slow", card: CARD }, { ...u, timeoutMs: 300 }))).code).toBe(Code.DeadlineExceeded);

  // Settling runs on order's own budget after the caller gave up: wait for the final state.
  const id = orderIdFor(`kim-${f.tag}`, "slow");
  const o = await eventually("outcome recorded", 8000, async () => (await f.mongo.db(f.orderDb).collection("outcomes").findOne({ _id: id as never })) ?? undefined);
  expect(o).toMatchObject({ status: "FAILED" });
  expect(o.failureReason).toContain("payment outcome unknown");
  expect(o.failureReason).toContain("nothing charged (voided)");
  // The processor's book holds the void that fenced the cancelled attempt out, and no capture.
  const ledger = await f.mongo.db(`${f.paymentDb}_processor`).collection("entries").find({ _id: id as never }).toArray();
  expect(ledger.map((e) => e.kind)).toEqual(["void"]);
  expect((await f.cart.getCart({}, u)).cart!.items).toHaveLength(1);
  expect((await checkInvariants({ mongoUrl: f.mongoUrl, orderDb: f.orderDb, paymentDb: f.paymentDb })).violations).toEqual([]);
  // The request_id is spent; the retry says so rather than charging again.
  expect((await failureOf(f.orders.placeOrder({ requestId: "slow", card: CARD }, u))).code).toBe(Code.FailedPrecondition);
}, 20_000);

test("a product the catalog no longer sells fails before the charge: FailedPrecondition, no order, cart intact", async () => {
  const u = await f.user("lee");
  await f.cart.addItem({ productId: "gone", quantity: 1 }, u);
  f.catalog.remove("gone");
  const err = await failureOf(f.orders.placeOrder({ requestId: "gone-1", card: CARD }, u));
  expect(err.code).toBe(Code.FailedPrecondition);
  expect(err.rawMessage).toContain("no longer sells");
  expect(await f.mongo.db(f.orderDb).collection("orders").countDocuments({ userId: `lee-${f.tag}` })).toBe(0);
  expect(await f.mongo.db(f.paymentDb).collection("charges").countDocuments({ key: orderIdFor(`lee-${f.tag}`, "gone-1") })).toBe(0);
  expect((await f.cart.getCart({}, u)).cart!.items.map((i) => i.productId)).toEqual(["gone"]);
});
