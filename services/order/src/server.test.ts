// Order component tests: real order, cart, payment and catalog servers in-process (real FerretDB
// and Redis, the seeded catalog), a fixture recommendation on the real mesh serve(), all over
// mTLS with user JWTs; the test calls as the edge. Money is checked in payment's own database.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import { closeClients, createClient, serve, type MeshServer } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { OrderService, OrderStatus } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { RecommendationService } from "@shopmesh/gen/shop/recommendation/v1/recommendation_pb.js";
import { checkInvariants, readCharges } from "@shopmesh/books";
import { parseCartConfig } from "../../cart/src/config.js";
import { startServer as startCart, stopServer as stopCart } from "../../cart/src/server.js";
import { parseCatalogConfig } from "../../catalog/src/config.js";
import { startServer as startCatalog, stopServer as stopCatalog } from "../../catalog/src/server.js";
import { parsePaymentConfig } from "../../payment/src/config.js";
import { startServer as startPayment, stopServer as stopPayment } from "../../payment/src/server.js";
import { parseOrderConfig } from "./config.js";
import { orderIdFor } from "./domain/orders.js";
import { startServer, stopServer } from "./server.js";
import type { OrderStore } from "./store/order-store.js";

const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
const tag = randomBytes(4).toString("hex");
const orderDb = `test_order_${tag}`;
const paymentDb = `test_order_payment_${tag}`;
const redisPrefix = `test_${tag}:`;
let mesh: TestMesh;
let recommendation: MeshServer;
const purchases: string[] = [];
let orders: Client<typeof OrderService>;
let cart: Client<typeof CartService>;
let mongo: MongoClient;
/** When set, the order store fails the confirm write: a real failure after the charge. */
let failConfirm = false;

const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };
const catalogDb = `test_order_catalog_${tag}`;
// Two products of the catalog's seed fixture, by position: "mug" and "tea" in the tests below.
const seed = JSON.parse(readFileSync(new URL("../../catalog/src/seed/products.json", import.meta.url), "utf8")) as { id: string; name: string; priceUsdCents: number }[];
const [mugP, teaP] = [seed[0]!, seed[1]!];
const mug = mugP.id;
const tea = teaP.id;

async function user(name: string) {
  return { headers: { authorization: `Bearer ${await mesh.signToken({ sub: `${name}-${tag}` })}` } };
}

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

const chargesFor = (orderId: string) => readCharges(mongo, [orderId], paymentDb);

beforeAll(async () => {
  mesh = await createTestMesh();
  mongo = await MongoClient.connect(mongoUrl);
  const catalogPort = (await startCatalog({
    ...parseCatalogConfig({ PORT: "0", ADMIN_PORT: "0", MONGO_URL: mongoUrl, MONGO_DB: catalogDb, REDIS_URL: redisUrl, REDIS_PREFIX: `${redisPrefix}catalog:` }),
    mesh: mesh.config("catalog"),
  })).port;
  recommendation = await serve({
    name: "recommendation", port: 0, config: mesh.config("recommendation"), reflection: false,
    services: [{ service: RecommendationService, impl: { recordPurchase: (req: { orderId: string }) => { purchases.push(req.orderId); return {}; } } }],
  });
  const cartPort = (await startCart(parseCartConfig({
    PORT: "0", ADMIN_PORT: "off", REDIS_URL: redisUrl, REDIS_PREFIX: `${redisPrefix}cart:`, CATALOG_ADDR: `127.0.0.1:${catalogPort}`,
  }, mesh.config("cart")))).port;
  const paymentPort = (await startPayment(parsePaymentConfig({
    PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: paymentDb, REDIS_URL: redisUrl, REDIS_PREFIX: `${redisPrefix}payment:`,
  }, mesh.config("payment")))).port;
  const failing = (s: OrderStore): OrderStore => ({
    ...s,
    settle: (id, outcome) => (failConfirm && outcome.status === "CONFIRMED" ? Promise.reject(new Error("injected: confirm write failed")) : s.settle(id, outcome)),
  });
  const orderPort = (await startServer(parseOrderConfig({
    PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: orderDb, REDIS_URL: redisUrl, REDIS_PREFIX: `${redisPrefix}order:`,
    CART_ADDR: `127.0.0.1:${cartPort}`, CATALOG_ADDR: `127.0.0.1:${catalogPort}`, PAYMENT_ADDR: `127.0.0.1:${paymentPort}`,
    RECOMMENDATION_ADDR: `127.0.0.1:${recommendation.port}`,
  }, mesh.config("order")), { wrapStore: failing })).port;
  const edge = mesh.config("edge");
  orders = createClient(OrderService, { target: "order", address: `127.0.0.1:${orderPort}`, config: edge, retry: false, breaker: false });
  cart = createClient(CartService, { target: "cart", address: `127.0.0.1:${cartPort}`, config: edge, retry: false, breaker: false });
}, 60_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  await stopPayment();
  await stopCart();
  await stopCatalog();
  await recommendation.close(100);
  await mongo.db(orderDb).dropDatabase();
  await mongo.db(paymentDb).dropDatabase();
  await mongo.db(`${paymentDb}_processor`).dropDatabase();
  await mongo.db(catalogDb).dropDatabase();
  await mongo.close();
  const r = new Redis(redisUrl);
  const keys = await r.keys(`${redisPrefix}*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
  mesh.dispose();
});

test("PlaceOrder charges once, confirms, empties the cart and reports the purchase", async () => {
  const u = await user("ann");
  await cart.addItem({ productId: mug, quantity: 2 }, u);
  await cart.addItem({ productId: tea, quantity: 1 }, u);
  const { order } = await orders.placeOrder({ requestId: "r-1", card }, u);
  expect(order).toMatchObject({ status: OrderStatus.CONFIRMED, requestId: "r-1", userId: `ann-${tag}` });
  const total = 2 * mugP.priceUsdCents + teaP.priceUsdCents;
  expect(order!.total).toMatchObject({ currencyCode: "USD", amountMinor: BigInt(total) });
  expect(order!.items.map((i) => [i.productId, i.name, i.quantity, i.unitPrice!.amountMinor]))
    .toEqual([[mug, mugP.name, 2, BigInt(mugP.priceUsdCents)], [tea, teaP.name, 1, BigInt(teaP.priceUsdCents)]]);
  expect((await cart.getCart({}, u)).cart!.items).toEqual([]);
  const charges = await chargesFor(order!.id);
  expect(charges).toHaveLength(1);
  expect(charges[0]).toMatchObject({ id: order!.chargeId, status: "SUCCEEDED", amountMinor: total });
  expect((await orders.getOrder({ orderId: order!.id }, u)).order!.id).toBe(order!.id);
  const until = Date.now() + 2000;
  while (!purchases.includes(order!.id) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  expect(purchases).toContain(order!.id);

  // A retry of the same request_id returns the same order and charges nothing more.
  const again = await orders.placeOrder({ requestId: "r-1", card }, u);
  expect(again.order!.id).toBe(order!.id);
  expect(await chargesFor(order!.id)).toHaveLength(1);

  // The same request_id returns the same order even after the cart changed (the contract).
  await cart.addItem({ productId: tea, quantity: 3 }, u);
  expect((await orders.placeOrder({ requestId: "r-1", card }, u)).order).toMatchObject({ id: order!.id, status: OrderStatus.CONFIRMED });
  expect(await chargesFor(order!.id)).toHaveLength(1);
});

test("50 concurrent PlaceOrder with one request_id: one order, one charge", async () => {
  const u = await user("bea");
  await cart.addItem({ productId: mug, quantity: 1 }, u);
  const results = await Promise.allSettled(Array.from({ length: 50 }, () => orders.placeOrder({ requestId: "same", card }, u)));
  const ids = new Set(results.flatMap((r) => (r.status === "fulfilled" ? [r.value.order!.id] : [])));
  expect(ids.size).toBe(1);
  for (const r of results) if (r.status === "rejected") expect(ConnectError.from(r.reason).code).toBe(Code.Aborted);
  const [id] = [...ids];
  expect(await chargesFor(id!)).toHaveLength(1);
  expect(await mongo.db(orderDb).collection("orders").countDocuments({ userId: `bea-${tag}` })).toBe(1);
});

test("invalid request_id and card are InvalidArgument with every field; an empty cart is FailedPrecondition", async () => {
  const u = await user("cid");
  const e = await failure(orders.placeOrder({ requestId: "", card: { number: "1234", cvv: "1", expirationYear: 1999, expirationMonth: 0 } }, u));
  expect(e.code).toBe(Code.InvalidArgument);
  expect(e.findDetails(BadRequestSchema)[0]!.fieldViolations.map((v) => v.field).sort())
    .toEqual(["card.cvv", "card.expiration_month", "card.expiration_year", "card.number", "request_id"]);
  expect((await failure(orders.placeOrder({ requestId: "x" }, u))).findDetails(BadRequestSchema)[0]!.fieldViolations[0]!.field).toBe("card");
  expect((await failure(orders.placeOrder({ requestId: "empty-1", card }, u))).code).toBe(Code.FailedPrecondition);
  expect(await mongo.db(orderDb).collection("orders").countDocuments({ userId: `cid-${tag}` })).toBe(0);
});

test("a declined card: FailedPrecondition, order FAILED with the reason, cart intact, no charge", async () => {
  const u = await user("dan");
  await cart.addItem({ productId: tea, quantity: 2 }, u);
  const e = await failure(orders.placeOrder({ requestId: "decl", card: { ...card, number: "4000000000000002" } }, u));
  expect(e.code).toBe(Code.FailedPrecondition);
  expect(e.rawMessage).toContain("card_declined");
  const o = (await orders.getOrder({ orderId: orderIdFor(`dan-${tag}`, "decl") }, u)).order!;
  expect(o.status).toBe(OrderStatus.FAILED);
  expect(o.failureReason).toContain("card_declined");
  expect((await cart.getCart({}, u)).cart!.items).toEqual([expect.objectContaining({ productId: tea, quantity: 2 })]);
  expect((await chargesFor(o.id)).filter((c) => c.status === "SUCCEEDED")).toHaveLength(0);
  // The request_id stays failed; a new one may be placed.
  expect((await failure(orders.placeOrder({ requestId: "decl", card }, u))).code).toBe(Code.FailedPrecondition);
  expect((await orders.placeOrder({ requestId: "decl-2", card }, u)).order!.status).toBe(OrderStatus.CONFIRMED);
});

test("a failed write after the charge is compensated: refund recorded, order FAILED, no money lost", async () => {
  const u = await user("fay");
  await cart.addItem({ productId: mug, quantity: 3 }, u);
  failConfirm = true;
  let e: ConnectError;
  try {
    e = await failure(orders.placeOrder({ requestId: "comp", card }, u));
  } finally {
    failConfirm = false;
  }
  expect(e.code).toBe(Code.Unavailable);
  const o = (await orders.getOrder({ orderId: orderIdFor(`fay-${tag}`, "comp") }, u)).order!;
  expect(o.status).toBe(OrderStatus.FAILED);
  expect(o.failureReason).toContain("refunded");
  const charges = await chargesFor(o.id);
  expect(charges).toHaveLength(1);
  expect(charges[0]).toMatchObject({ status: "REFUNDED", amountMinor: 3 * mugP.priceUsdCents });
  expect((await cart.getCart({}, u)).cart!.items).toHaveLength(1);
  const report = await checkInvariants({ mongoUrl, orderDb, paymentDb });
  expect(report.violations).toEqual([]);
  expect(report.refundedCharges).toBeGreaterThanOrEqual(1);
});

test("GetOrder and ListOrders show only the caller's orders, newest first, with opaque page tokens", async () => {
  const u = await user("gus");
  const placed: string[] = [];
  for (const r of ["l1", "l2", "l3"]) {
    await cart.addItem({ productId: tea, quantity: 1 }, u);
    placed.push((await orders.placeOrder({ requestId: r, card }, u)).order!.id);
  }
  const p1 = await orders.listOrders({ pageSize: 2 }, u);
  expect(p1.orders.map((o) => o.id)).toEqual([placed[2], placed[1]]);
  expect(p1.nextPageToken).not.toBe("");
  const p2 = await orders.listOrders({ pageSize: 2, pageToken: p1.nextPageToken }, u);
  expect(p2.orders.map((o) => o.id)).toEqual([placed[0]]);
  expect(p2.nextPageToken).toBe("");

  const other = await user("hal");
  expect((await failure(orders.getOrder({ orderId: placed[0]! }, other))).code).toBe(Code.NotFound);
  expect((await orders.listOrders({}, other)).orders).toEqual([]);
  expect((await failure(orders.listOrders({ pageToken: p1.nextPageToken }, other))).code).toBe(Code.InvalidArgument);
  expect((await failure(orders.listOrders({ pageToken: `${p1.nextPageToken}x` }, u))).code).toBe(Code.InvalidArgument);
  expect((await failure(orders.listOrders({ pageSize: 101 }, u))).code).toBe(Code.InvalidArgument);
  expect((await failure(orders.getOrder({ orderId: '{"$ne":null}' }, u))).code).toBe(Code.InvalidArgument);
  expect((await failure(orders.getOrder({ orderId: "ord_doesnotexist" }, u))).code).toBe(Code.NotFound);
  expect((await failure(orders.listOrders({}))).code).toBe(Code.Unauthenticated);
});

test("with recommendation down, checkout still succeeds", async () => {
  await recommendation.close(100);
  const u = await user("ida");
  await cart.addItem({ productId: mug, quantity: 1 }, u);
  const started = Date.now();
  const { order } = await orders.placeOrder({ requestId: "no-reco", card }, u);
  expect(order!.status).toBe(OrderStatus.CONFIRMED);
  expect(Date.now() - started).toBeLessThan(2000);
});

test("a failure before the charge (catalog down) leaves the cart intact, no order and no charge", async () => {
  const u = await user("eve");
  await cart.addItem({ productId: tea, quantity: 1 }, u);
  await stopCatalog();
  const e = await failure(orders.placeOrder({ requestId: "before", card }, u));
  expect(e.code).toBe(Code.Unavailable);
  expect((await cart.getCart({}, u)).cart!.items.map((i) => i.productId)).toEqual([tea]);
  expect(await mongo.db(orderDb).collection("orders").countDocuments({ userId: `eve-${tag}` })).toBe(0);
  expect(await chargesFor(orderIdFor(`eve-${tag}`, "before"))).toHaveLength(0);
});

test("the money invariant holds over everything above", async () => {
  const report = await checkInvariants({ mongoUrl, orderDb, paymentDb });
  expect(report.violations).toEqual([]);
  expect(report.pendingOrders).toBe(0);
  expect(report.confirmedTotalMinor).toBe(report.chargedTotalMinor);
  expect(report.confirmedOrders).toBeGreaterThanOrEqual(6);
});
