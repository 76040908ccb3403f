// The order → cart, catalog and payment boundaries: whatever an upstream answers PlaceOrder's calls
// with, order's caller gets order's own error, and the order's failure_reason holds order's own
// words (docs/architecture.md, "The error map"). The real order against the test run's FerretDB
// and Redis; scripted cart, catalog and payment on the real mesh serve(); mTLS and user JWTs.
import { randomBytes } from "node:crypto";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { MongoClient } from "mongodb";
import { closeClients, createClient, serve, type MeshServer } from "@shopmesh/mesh";
import { answerOf, createTestMesh, deleteRedisKeys, UPSTREAM_SECRET, upstreamFailure, type TestMesh } from "@shopmesh/mesh/testing";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { OrderService, OrderStatus } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import { parseOrderConfig } from "./config.js";
import { orderIdFor } from "./domain/orders.js";
import { startServer, stopServer } from "./server.js";

const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
const tag = randomBytes(4).toString("hex");
const orderDb = `test_order_upstream_${tag}`;
const redisPrefix = `test_${tag}:order:`;
const card = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };
const PAYMENT = "payment.shop.local";
let mesh: TestMesh;
let fakes: MeshServer[];
let orders: Client<typeof OrderService>;

/** What the scripted upstreams answer next; a method without an entry succeeds. */
let script: { getCart?: ConnectError; batchGetProducts?: ConnectError; charge?: ConnectError } = {};

beforeAll(async () => {
  mesh = await createTestMesh();
  const fake = (name: string, service: typeof CartService | typeof CatalogService | typeof PaymentService, impl: Record<string, (req: never) => unknown>) =>
    serve({ name, port: 0, config: mesh.config(name), reflection: false, services: [{ service, impl }] });
  const fail = (err: ConnectError | undefined) => {
    if (err) throw err;
  };
  fakes = [
    await fake("cart", CartService, {
      getCart: () => (fail(script.getCart), { cart: { items: [{ productId: "lamp", quantity: 1 }] } }),
      removeOrderedItems: () => ({}),
    }),
    await fake("catalog", CatalogService, {
      batchGetProducts: (req: { ids: string[] }) => (fail(script.batchGetProducts),
        { products: req.ids.map((id) => ({ id, name: "Lamp", price: { currencyCode: "USD", amountMinor: 4200n } })) }),
    }),
    await fake("payment", PaymentService, {
      charge: () => (fail(script.charge), {}),
      // Asked what became of the key: nothing was taken (the key is closed).
      resolveCharge: () => ({ notChargedReason: "voided" }),
    }),
  ];
  const [cart, catalog, payment] = fakes.map((f) => `127.0.0.1:${f.port}`);
  const { port } = await startServer(parseOrderConfig({
    PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: orderDb, REDIS_URL: redisUrl, REDIS_PREFIX: redisPrefix,
    CART_ADDR: cart!, CATALOG_ADDR: catalog!, PAYMENT_ADDR: payment!, RECOMMENDATION_ADDR: "127.0.0.1:1",
  }, mesh.config("order")));
  orders = createClient(OrderService, { target: "order", address: `127.0.0.1:${port}`, config: mesh.config("edge"), retry: false, breaker: false });
}, 30_000);

afterAll(async () => {
  closeClients();
  await stopServer();
  for (const f of fakes) await f.close(100);
  const mongo = await MongoClient.connect(mongoUrl);
  await mongo.db(orderDb).dropDatabase();
  await mongo.close();
  await deleteRedisKeys(redisUrl, redisPrefix);
  mesh.dispose();
});

/** Payment refusing the card by its own clock: a card field violation, with payment's message. */
function cardExpiredAtPayment(): ConnectError {
  return new ConnectError(UPSTREAM_SECRET, Code.InvalidArgument, undefined, [
    { desc: BadRequestSchema, value: { fieldViolations: [{ field: "card.expiration_month", description: "the card has expired" }] } },
  ]);
}

const rows: [string, typeof script, { code: string; message: string | RegExp; details?: string[] }, "none" | "FAILED"][] = [
  ["cart broke", { getCart: upstreamFailure(Code.Internal) }, { code: "Internal", message: "internal error" }, "none"],
  ["cart is down", { getCart: upstreamFailure(Code.Unavailable) }, { code: "Unavailable", message: "cart is unavailable" }, "none"],
  ["catalog no longer sells a cart product", { batchGetProducts: upstreamFailure(Code.NotFound) },
    { code: "FailedPrecondition", message: "the cart holds a product the catalog no longer sells; remove it and place the order again" }, "none"],
  ["catalog's store timed out", { batchGetProducts: upstreamFailure(Code.DeadlineExceeded) }, { code: "DeadlineExceeded", message: "catalog did not answer in time" }, "none"],
  ["catalog broke", { batchGetProducts: upstreamFailure(Code.Internal) }, { code: "Internal", message: "internal error" }, "none"],
  ["payment declined the card", { charge: upstreamFailure(Code.FailedPrecondition, { reason: "CARD_DECLINED", domain: PAYMENT, metadata: { decline_reason: "insufficient_funds" } }) },
    { code: "FailedPrecondition", message: "the card was declined (insufficient_funds)" }, "FAILED"],
  ["payment voided the key first", { charge: upstreamFailure(Code.FailedPrecondition, { reason: "CHARGE_VOIDED", domain: PAYMENT }) },
    { code: "FailedPrecondition", message: "the charge was cancelled before it reached the processor; nothing was charged" }, "FAILED"],
  ["payment broke during the charge", { charge: upstreamFailure(Code.Internal) },
    { code: "FailedPrecondition", message: /^order ord_\S+ failed: payment outcome unknown \(payment failed \(Internal\)\); nothing charged \(voided\); use a new request_id$/ }, "FAILED"],
  ["payment refused the card by its own clock", { charge: cardExpiredAtPayment() },
    { code: "InvalidArgument", message: "invalid card.expiration_month: the card has expired", details: ["google.rpc.BadRequest"] }, "FAILED"],
];

test.each(rows)("%s: order's caller gets order's own error, without the upstream's message, details or trailers", async (name, upstream, expected, order) => {
  const user = `u-${name.replace(/\W+/g, "-")}-${tag}`;
  const u = { headers: { authorization: `Bearer ${await mesh.signToken({ sub: user })}` } };
  script = upstream;
  let err: ConnectError | undefined;
  try {
    await orders.placeOrder({ requestId: "r1", card }, u);
  } catch (e) {
    err = ConnectError.from(e);
  } finally {
    script = {};
  }
  expect(err).toBeDefined();
  const message = typeof expected.message === "string" ? expected.message : expect.stringMatching(expected.message);
  expect(answerOf(err!)).toEqual({ code: expected.code, message, details: expected.details ?? [], leaks: false });
  // The order the failure left behind says why in order's words too.
  const got = await orders.getOrder({ orderId: orderIdFor(user, "r1") }, u).then((r) => r.order!, (e: unknown) => ConnectError.from(e));
  if (order === "none") {
    expect(got instanceof ConnectError && Code[got.code]).toBe("NotFound");
  } else {
    expect(got).toMatchObject({ status: OrderStatus.FAILED });
    expect((got as { failureReason: string }).failureReason).not.toContain(UPSTREAM_SECRET);
  }
});
