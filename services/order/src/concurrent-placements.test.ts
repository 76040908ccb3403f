// Concurrent PlaceOrder calls with one request_id in one order process, over the real checkout
// path (FerretDB, Redis, cart, catalog and payment servers): the calls that find the order's saga
// running here wait for it and answer with its order, without polling MongoDB, where even a read
// by _id scans (a hundred such calls at 70,000 orders ran past the database's deadline).
import { OrderStatus } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { checkInvariants } from "@shopmesh/books";
import type { OrderStore } from "./store/order-store.js";
import { CARD, type CheckoutFixture, LAMP, startCheckoutFixture } from "./testing/checkout-fixture.js";

let f: CheckoutFixture;
let findOwned = 0;

beforeAll(async () => {
  f = await startCheckoutFixture({
    // The saga takes a while, so the duplicates arrive while it runs.
    paymentEnv: { PAYMENT_FAULT_LATENCY_MS: "300" },
    wrapStore: (s: OrderStore): OrderStore => ({ ...s, findOwned: (userId, id) => (findOwned++, s.findOwned(userId, id)) }),
  });
}, 60_000);

afterAll(async () => {
  await f.stop();
});

test("30 concurrent PlaceOrder with one request_id wait for the saga, not the store, and all answer its order", async () => {
  const u = await f.user("pia");
  await f.cart.addItem({ productId: LAMP.id, quantity: 2 }, u);
  const answers = await Promise.all(Array.from({ length: 30 }, () => f.orders.placeOrder({ requestId: "one", card: CARD }, u)));
  const ids = new Set(answers.map((a) => a.order!.id));
  expect(ids.size).toBe(1);
  expect(answers.every((a) => a.order!.status === OrderStatus.CONFIRMED && a.order!.total!.amountMinor === 8400n)).toBe(true);
  // Polling, each duplicate read the store at least once, most several times.
  expect(findOwned).toBeLessThanOrEqual(3);
  expect((await checkInvariants({ mongoUrl: f.mongoUrl, orderDb: f.orderDb, paymentDb: f.paymentDb })).violations).toEqual([]);
}, 40_000);
