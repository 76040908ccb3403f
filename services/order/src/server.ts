// Wires order: Mongo store, mesh clients to cart/catalog/payment/recommendation, the saga,
// handlers, serve().
import { createLogger, serve, type MeshServer } from "@shopmesh/mesh";
import { OrderService } from "@shopmesh/gen/shop/order/v1/order_pb.js";
import type { OrderConfig } from "./config.js";
import { createOrders } from "./domain/orders.js";
import { createOrderHandlers } from "./handlers.js";
import { createMongoOrderStore } from "./store/mongo-order-store.js";
import type { OrderStore } from "./store/order-store.js";
import { createUpstreamClients } from "./upstream-clients.js";

/** Replaceable parts, for tests that inject a real failure (dependency injection). */
export interface OrderDeps {
  /** Wraps the Mongo store, e.g. to make the confirm write fail. */
  wrapStore?: (s: OrderStore) => OrderStore;
}

let running: { server: MeshServer; store: OrderStore } | undefined;

/** Starts the order service; resolves with its ports once it serves. */
export async function startServer(config: OrderConfig, deps: OrderDeps = {}): Promise<{ port: number; adminPort?: number }> {
  const log = createLogger("order");
  const mongo = await createMongoOrderStore({ url: config.mongoUrl, db: config.mongoDb });
  await mongo.init();
  const store = deps.wrapStore ? deps.wrapStore(mongo) : mongo;
  const upstreams = createUpstreamClients(config.mesh, {
    cart: config.cartAddr, catalog: config.catalogAddr, payment: config.paymentAddr, recommendation: config.recommendationAddr,
  }, { recommendationMs: config.recommendationTimeoutMs });
  const orders = createOrders({ store, upstreams, recordPurchaseMs: config.recommendationTimeoutMs, log });
  const server = await serve({
    name: "order",
    port: config.port,
    adminPort: config.adminPort,
    config: config.mesh,
    services: [{ service: OrderService, impl: createOrderHandlers(orders) }],
    logger: log,
  });
  running = { server, store: mongo };
  return { port: server.port, adminPort: server.adminPort };
}

/** Drains in-flight calls, then closes the store. */
export async function stopServer(): Promise<void> {
  const r = running;
  running = undefined;
  if (!r) return;
  await r.server.close(5000);
  await r.store.close();
}
