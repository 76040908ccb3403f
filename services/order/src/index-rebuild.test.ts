// Order's Redis index is derived data: with order's Redis dead, checkout and the reads go on from
// MongoDB; when Redis comes back empty (its data lost), the sweeper rebuilds the index from MongoDB
// and ListOrders is served from it again, complete.
import { Redis } from "ioredis";
import { OrderStatus } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { checkInvariants } from "@shopmesh/books";
import { startRedis, type TestStore } from "../../../test/support/stores.js";
import { CARD, type CheckoutFixture, eventually, LAMP, startCheckoutFixture } from "./testing/checkout-fixture.js";

let redis: TestStore;
let f: CheckoutFixture;

beforeAll(async () => {
  redis = await startRedis();
  f = await startCheckoutFixture({ orderEnv: { REDIS_URL: redis.url, ORDER_SWEEP_INTERVAL_MS: "300" } });
}, 60_000);

afterAll(async () => {
  await f.stop();
  await redis.stop();
});

test("orders placed while Redis is down are listed again once Redis is back, rebuilt from MongoDB", async () => {
  const u = await f.user("ivy");
  const place = async (requestId: string) => {
    await f.cart.addItem({ productId: LAMP.id, quantity: 1 }, u);
    return (await f.orders.placeOrder({ requestId, card: CARD }, u)).order!;
  };
  const first = await place("before");
  await redis.stop();
  const during = await place("during");
  expect(during.status).toBe(OrderStatus.CONFIRMED);
  expect((await f.orders.getOrder({ orderId: during.id }, u)).order!.status).toBe(OrderStatus.CONFIRMED);
  expect((await f.orders.listOrders({}, u)).orders.map((o) => o.id)).toEqual([during.id, first.id]);

  // Back on the same port, empty: everything the index held is gone.
  redis = await startRedis({ port: redis.port });
  const r = new Redis(redis.url);
  try {
    const prefix = `test_${f.tag}:order:`;
    await eventually("index rebuilt", 10_000, async () => ((await r.get(`${prefix}index-complete`)) === "1" ? true : undefined));
    expect(await r.zrevrange(`${prefix}user:ivy-${f.tag}`, 0, -1)).toEqual([during.id, first.id]);
  } finally {
    r.disconnect();
  }
  const after = await place("after");
  expect((await f.orders.listOrders({}, u)).orders.map((o) => o.id)).toEqual([after.id, during.id, first.id]);
  expect((await checkInvariants({ mongoUrl: f.mongoUrl, orderDb: f.orderDb, paymentDb: f.paymentDb })).violations).toEqual([]);
}, 40_000);
