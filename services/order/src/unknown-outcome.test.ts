// The charge whose outcome order cannot know: payment is slower than the caller's deadline, so
// order's Charge call ends with DeadlineExceeded while payment may still charge. Order settles it
// on its own budget by charging again with the same key (which returns or awaits the one charge)
// and refunding it: the order ends FAILED, the charge REFUNDED, and no money is lost. Also, with
// the fixture catalog (which can forget a product): a cart product no longer sold.
import { randomBytes } from "node:crypto";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import { closeClients, createClient, createTestMesh, type TestMesh } from "@shopmesh/mesh";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { parseCartConfig } from "../../cart/src/config.js";
import { startServer as startCart, stopServer as stopCart } from "../../cart/src/server.js";
import { startCatalogFixture, type CatalogFixture } from "../../cart/src/testing/catalog-fixture.js";
import { parsePaymentConfig } from "../../payment/src/config.js";
import { startServer as startPayment, stopServer as stopPayment } from "../../payment/src/server.js";
import { parseOrderConfig } from "./config.js";
import { orderIdFor } from "./domain/orders.js";
import { checkInvariants } from "./invariants.js";
import { startServer, stopServer } from "./server.js";

const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
const tag = randomBytes(4).toString("hex");
const orderDb = `test_order_unknown_${tag}`;
const paymentDb = `test_order_unknown_payment_${tag}`;
const redisPrefix = `test_${tag}:`;
let mesh: TestMesh;
let catalog: CatalogFixture;
let orders: Client<typeof OrderService>;
let cart: Client<typeof CartService>;
let mongo: MongoClient;
const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };

beforeAll(async () => {
  mesh = await createTestMesh();
  mongo = await MongoClient.connect(mongoUrl);
  catalog = await startCatalogFixture(mesh.config("catalog"), [{ id: "lamp", name: "Lamp", priceMinor: 4200 }, { id: "gone", name: "Soon gone", priceMinor: 100 }]);
  const cartPort = (await startCart(parseCartConfig({
    PORT: "0", ADMIN_PORT: "off", REDIS_URL: redisUrl, REDIS_PREFIX: `${redisPrefix}cart:`, CATALOG_ADDR: `127.0.0.1:${catalog.port}`,
  }, mesh.config("cart")))).port;
  const paymentPort = (await startPayment(parsePaymentConfig({
    PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: paymentDb, REDIS_URL: redisUrl, REDIS_PREFIX: `${redisPrefix}payment:`,
    PAYMENT_FAULT_LATENCY_MS: "600",
  }, mesh.config("payment")))).port;
  const orderPort = (await startServer(parseOrderConfig({
    PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: orderDb, CART_ADDR: `127.0.0.1:${cartPort}`,
    CATALOG_ADDR: `127.0.0.1:${catalog.port}`, PAYMENT_ADDR: `127.0.0.1:${paymentPort}`, RECOMMENDATION_ADDR: "127.0.0.1:1",
  }, mesh.config("order")))).port;
  orders = createClient(OrderService, { target: "order", address: `127.0.0.1:${orderPort}`, config: mesh.config("edge"), retry: false, breaker: false });
  cart = createClient(CartService, { target: "cart", address: `127.0.0.1:${cartPort}`, config: mesh.config("edge"), retry: false, breaker: false });
}, 60_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  await stopPayment();
  await stopCart();
  await catalog.close(100);
  await mongo.db(orderDb).dropDatabase();
  await mongo.db(paymentDb).dropDatabase();
  await mongo.close();
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${redisPrefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
  mesh.dispose();
});

test("a Charge past the caller's deadline is settled: order FAILED, charge refunded, cart intact", async () => {
  const u = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: `kim-${tag}` })}` } };
  await cart.addItem({ productId: "lamp", quantity: 1 }, u);
  const err = await orders.placeOrder({ requestId: "slow", card }, { ...u, timeoutMs: 300 }).then(() => undefined, (e: unknown) => ConnectError.from(e));
  expect(err?.code).toBe(Code.DeadlineExceeded);

  // Settling runs on order's own budget after the caller gave up: wait for the final state.
  const id = orderIdFor(`kim-${tag}`, "slow");
  const until = Date.now() + 8000;
  let o;
  while (Date.now() < until) {
    o = await mongo.db(orderDb).collection("orders").findOne({ _id: id as never });
    if (o && o.status !== "PENDING") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(o).toMatchObject({ status: "FAILED" });
  expect(o!.failureReason).toContain("payment outcome unknown");
  const charges = await mongo.db(paymentDb).collection("charges").find({ key: id }).toArray();
  expect(charges.map((c) => c.status)).toEqual(["REFUNDED"]);
  expect((await cart.getCart({}, u)).cart!.items).toHaveLength(1);
  expect((await checkInvariants({ mongoUrl, orderDb, paymentDb })).violations).toEqual([]);
  // The request_id is spent; the retry says so rather than charging again.
  expect((await orders.placeOrder({ requestId: "slow", card }, u).catch((e: unknown) => ConnectError.from(e)) as ConnectError).code).toBe(Code.FailedPrecondition);
}, 20_000);

test("a product the catalog no longer sells fails before the charge: FailedPrecondition, no order, cart intact", async () => {
  const u = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: `lee-${tag}` })}` } };
  await cart.addItem({ productId: "gone", quantity: 1 }, u);
  catalog.remove("gone");
  const err = await orders.placeOrder({ requestId: "gone-1", card }, u).then(() => undefined, (e: unknown) => ConnectError.from(e));
  expect(err?.code).toBe(Code.FailedPrecondition);
  expect(err?.rawMessage).toContain("no longer sells");
  expect(await mongo.db(orderDb).collection("orders").countDocuments({ userId: `lee-${tag}` })).toBe(0);
  expect(await mongo.db(paymentDb).collection("charges").countDocuments({ key: orderIdFor(`lee-${tag}`, "gone-1") })).toBe(0);
  expect((await cart.getCart({}, u)).cart!.items.map((i) => i.productId)).toEqual(["gone"]);
});
