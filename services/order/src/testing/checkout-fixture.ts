// Test fixture: the whole checkout path in-process, on free ports, over mTLS with user JWTs:
// the real order, payment and cart servers against the test run's real FerretDB and Redis, and
// the small fixture catalog. The test calls order as the edge, and payment as order would.
// Hooks inject real failures into order's store and payment's processor; each fixture gets its
// own databases and Redis prefix, dropped by stop().
import { randomBytes } from "node:crypto";
import { ConnectError, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { MongoClient } from "mongodb";
import { closeClients, createClient, sleep } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { CartService } from "@shopmesh/gen/shop/cart/v1/cart_pb.js";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import { parseCartConfig } from "../../../cart/src/config.js";
import { startServer as startCart, stopServer as stopCart } from "../../../cart/src/server.js";
import { startCatalogFixture, type CatalogFixture, type FixtureProduct } from "../../../cart/src/testing/catalog-fixture.js";
import { parsePaymentConfig } from "../../../payment/src/config.js";
import type { Processor } from "../../../payment/src/domain/processor.js";
import { startServer as startPayment, stopServer as stopPayment } from "../../../payment/src/server.js";
import { parseOrderConfig } from "../config.js";
import { startServer as startOrder, stopServer as stopOrder } from "../server.js";
import type { OrderStore } from "../store/order-store.js";

/** What a fixture may change. */
export interface CheckoutFixtureOptions {
  /** Extra environment of payment (e.g. PAYMENT_FAULT_LATENCY_MS). */
  paymentEnv?: Record<string, string>;
  /** Extra environment of order (e.g. ORDER_LEASE_MS, or its own REDIS_URL). */
  orderEnv?: Record<string, string>;
  /** What the fixture catalog sells (default: LAMP). */
  products?: FixtureProduct[];
  wrapStore?: (s: OrderStore) => OrderStore;
  wrapProcessor?: (p: Processor) => Processor;
}

/** A running checkout path. */
export interface CheckoutFixture {
  mesh: TestMesh;
  tag: string;
  mongo: MongoClient;
  mongoUrl: string;
  orderDb: string;
  paymentDb: string;
  orders: Client<typeof OrderService>;
  cart: Client<typeof CartService>;
  catalog: CatalogFixture;
  /** payment, called with order's identity. */
  payment: Client<typeof PaymentService>;
  /** Call options of a test user (a JWT with sub `<name>-<tag>`). */
  user(name: string): Promise<{ headers: Record<string, string> }>;
  /** Stops payment (as a crash would leave it: no more answers), and starts it again on its port. */
  stopPayment(): Promise<void>;
  startPayment(): Promise<void>;
  /** Starts a second order server on the same stores and upstreams (a replica), unwrapped. */
  startOrderReplica(env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

/** The fixture catalog's products. */
export const LAMP = { id: "lamp", name: "Lamp", priceMinor: 4200 };
/** A card the simulated processor approves. */
export const CARD = { number: "4242424242424242", cvv: "123", expirationYear: 2099, expirationMonth: 12 };

/** Starts the checkout path. */
export async function startCheckoutFixture(opts: CheckoutFixtureOptions = {}): Promise<CheckoutFixture> {
  const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
  const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
  const tag = randomBytes(4).toString("hex");
  const orderDb = `test_co_order_${tag}`;
  const paymentDb = `test_co_payment_${tag}`;
  const redisPrefix = `test_${tag}:`;
  const mesh = await createTestMesh();
  const mongo = await MongoClient.connect(mongoUrl);
  const catalog: CatalogFixture = await startCatalogFixture(mesh.config("catalog"), opts.products ?? [LAMP]);
  const cartPort = (await startCart(parseCartConfig({
    PORT: "0", ADMIN_PORT: "off", REDIS_URL: redisUrl, REDIS_PREFIX: `${redisPrefix}cart:`, CATALOG_ADDR: `127.0.0.1:${catalog.port}`,
  }, mesh.config("cart")))).port;
  let paymentPort = 0;
  const runPayment = async () => {
    paymentPort = (await startPayment(parsePaymentConfig({
      PORT: String(paymentPort), ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: paymentDb, REDIS_URL: redisUrl,
      REDIS_PREFIX: `${redisPrefix}payment:`, ...opts.paymentEnv,
    }, mesh.config("payment")), opts.wrapProcessor ? { wrapProcessor: opts.wrapProcessor } : {})).port;
  };
  await runPayment();
  const orderEnv = (extra: Record<string, string> = {}) => ({
    PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: orderDb, REDIS_URL: redisUrl, REDIS_PREFIX: `${redisPrefix}order:`,
    CART_ADDR: `127.0.0.1:${cartPort}`, CATALOG_ADDR: `127.0.0.1:${catalog.port}`, PAYMENT_ADDR: `127.0.0.1:${paymentPort}`,
    RECOMMENDATION_ADDR: "127.0.0.1:1", ...extra,
  });
  const orderPort = (await startOrder(parseOrderConfig(orderEnv(opts.orderEnv), mesh.config("order")),
    opts.wrapStore ? { wrapStore: opts.wrapStore } : {})).port;
  const edge = mesh.config("edge");
  const client = <S extends Parameters<typeof createClient>[0]>(service: S, target: string, port: number, from = edge) =>
    createClient(service, { target, address: `127.0.0.1:${port}`, config: from, retry: false, breaker: false });
  return {
    mesh, tag, mongo, mongoUrl, orderDb, paymentDb, catalog,
    orders: client(OrderService, "order", orderPort),
    cart: client(CartService, "cart", cartPort),
    payment: client(PaymentService, "payment", paymentPort, mesh.config("order")),
    async user(name) {
      return { headers: { authorization: `Bearer ${await mesh.signToken({ sub: `${name}-${tag}` })}` } };
    },
    stopPayment: () => stopPayment(),
    startPayment: runPayment,
    async startOrderReplica(env) {
      await startOrder(parseOrderConfig(orderEnv(env), mesh.config("order")));
    },
    async stop() {
      closeClients();
      await stopOrder();
      await stopPayment();
      await stopCart();
      await catalog.close(100);
      for (const name of [orderDb, paymentDb, `${paymentDb}_processor`]) await mongo.db(name).dropDatabase();
      await mongo.close();
      const r = new Redis(redisUrl);
      const keys = await r.keys(`${redisPrefix}*`);
      if (keys.length) await r.del(...keys);
      r.disconnect();
      mesh.dispose();
    },
  };
}

/** The error a call failed with; throws when it succeeded. */
export async function failureOf(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

/** Polls until check() returns a value (not undefined), or throws after timeoutMs. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Counts the captures a processor really makes per key (a replayed answer is not a capture). */
export function captureCounter(): { wrap: (p: Processor) => Processor; count: (key: string) => number; delayFirst: (key: string, ms: number) => void } {
  const counts = new Map<string, number>();
  const delays = new Map<string, number>();
  const wrap = (p: Processor): Processor => new Proxy(p, {
    get(target, prop, receiver) {
      const f = Reflect.get(target, prop, receiver) as unknown;
      if (!MONEY_METHODS.includes(String(prop)) || typeof f !== "function") return f;
      return async (req: { key: string }, signal?: AbortSignal) => {
        const delay = delays.get(req.key);
        if (delay) {
          delays.delete(req.key);
          await sleep(delay);
        }
        const res = (await (f as (r: unknown, s?: AbortSignal) => Promise<{ approved: boolean; replayed?: boolean }>).call(target, req, signal));
        if (res.approved && !res.replayed) counts.set(req.key, (counts.get(req.key) ?? 0) + 1);
        return res;
      };
    },
  });
  return { wrap, count: (key) => counts.get(key) ?? 0, delayFirst: (key, ms) => void delays.set(key, ms) };
}

// The processor methods that can take money.
const MONEY_METHODS = ["capture"];
