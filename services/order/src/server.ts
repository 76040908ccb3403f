// Wires order: Mongo store, Redis index, mesh clients to cart/catalog/payment/recommendation, the
// saga, the sweeper, handlers, serve().
import type { Redis } from "ioredis";
import { createLogger, meshRegistry, openRedis, serve, type MeshServer } from "@shopmesh/mesh";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import type { OrderConfig } from "./config.js";
import { createOrders } from "./domain/orders.js";
import { createOrderHandlers } from "./handlers.js";
import { createMongoOrderStore } from "./store/mongo-order-store.js";
import { createRedisOrderIndex } from "./store/order-index.js";
import type { OrderStore } from "./store/order-store.js";
import { startSweeper, type Sweeper } from "./sweeper.js";
import { createUpstreamClients } from "./upstream-clients.js";

/** Replaceable parts, for tests that inject a real failure (dependency injection). */
export interface OrderDeps {
  /** Wraps the Mongo store, e.g. to make the confirm write fail. */
  wrapStore?: (s: OrderStore) => OrderStore;
}

let running: { server: MeshServer; store: OrderStore; redis: Redis; sweeper: Sweeper } | undefined;

/** Starts the order service; resolves with its ports once it serves. */
export async function startServer(config: OrderConfig, deps: OrderDeps = {}): Promise<{ port: number; adminPort?: number }> {
  const log = createLogger("order");
  const mongo = await createMongoOrderStore({ url: config.mongoUrl, db: config.mongoDb });
  await mongo.init();
  const store = deps.wrapStore ? deps.wrapStore(mongo) : mongo;
  // Connection errors are not logged: the index reports failures per call; Mongo stays the truth.
  const redis = await openRedis(config.redisUrl, {
    onConnectError: (err) => log.warn({ err }, "redis not reachable at start; reads use MongoDB"),
  });
  const index = createRedisOrderIndex({
    redis, prefix: config.redisPrefix, cachedFinal: config.cachedOrders,
    onError: (err, op) => log.warn({ err: (err as Error).message, op }, "order index unavailable"),
  });
  const upstreams = createUpstreamClients(config.mesh, {
    cart: config.cartAddr, catalog: config.catalogAddr, payment: config.paymentAddr, recommendation: config.recommendationAddr,
  }, { recommendationMs: config.recommendationTimeoutMs });
  const orders = createOrders({ store, index, upstreams, leaseMs: config.leaseMs, recordPurchaseMs: config.recommendationTimeoutMs, log });
  const sweeper = startSweeper({ orders, store, index, intervalMs: config.sweepIntervalMs, batch: config.sweepBatch, registry: meshRegistry, log });
  const server = await serve({
    name: "order",
    port: config.port,
    adminPort: config.adminPort,
    config: config.mesh,
    services: [{ service: OrderService, impl: createOrderHandlers(orders) }],
    logger: log,
  });
  running = { server, store: mongo, redis, sweeper };
  return { port: server.port, adminPort: server.adminPort };
}

/** Drains in-flight calls, stops the sweeper, then closes the stores. */
export async function stopServer(): Promise<void> {
  const r = running;
  running = undefined;
  if (!r) return;
  await r.server.close(5000);
  await r.sweeper.stop();
  r.redis.disconnect();
  await r.store.close();
}
