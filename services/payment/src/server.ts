// Wires payment: Mongo store, Redis fast path, simulated processor, use cases, handlers, serve().
import type { Redis } from "ioredis";
import { createLogger, openRedis, serve, type MeshServer } from "@shopmesh/mesh";
import { PaymentService } from "@shopmesh/gen/shop/payment/v1/payment_pb.js";
import type { PaymentConfig } from "./config.js";
import { createPayments } from "./domain/payments.js";
import { createSimulatedProcessor, type Processor } from "./domain/processor.js";
import { createPaymentHandlers } from "./handlers.js";
import { createRedisChargeCache } from "./store/charge-cache.js";
import { createMongoChargeStore } from "./store/mongo-charge-store.js";
import { createMongoLedger, type MongoLedger } from "./store/mongo-ledger.js";
import type { ChargeStore } from "./store/charge-store.js";

/** Replaceable parts, for tests that need a real failure or a count (dependency injection). */
export interface PaymentDeps {
  /** Wraps the simulated processor (e.g. to count calls). */
  wrapProcessor?: (p: Processor) => Processor;
}

let running: { server: MeshServer; store: ChargeStore; ledger: MongoLedger; redis: Redis } | undefined;

/** Starts the payment service; resolves with its ports once it serves. */
export async function startServer(config: PaymentConfig, deps: PaymentDeps = {}): Promise<{ port: number; adminPort?: number }> {
  const log = createLogger("payment");
  const store = await createMongoChargeStore({ url: config.mongoUrl, db: config.mongoDb });
  await store.init();
  // Connection errors are not logged: the cache reports failures per call; Mongo stays the truth.
  const redis = await openRedis(config.redisUrl, {
    onConnectError: (err) => log.warn({ err }, "redis not reachable at start; continuing without the fast path"),
  });
  const cache = createRedisChargeCache({
    redis, prefix: config.redisPrefix,
    onError: (err, op) => log.warn({ err: (err as Error).message, op }, "charge cache unavailable"),
  });
  const cardKey = config.cardHashKey || (await store.ensureSecret("card_hash_key"));
  const ledger = await createMongoLedger({ url: config.mongoUrl, db: config.processorDb || `${config.mongoDb}_processor` });
  const base = createSimulatedProcessor({ ledger, latencyMs: config.faultLatencyMs, failureRate: config.faultFailureRate });
  const processor = deps.wrapProcessor ? deps.wrapProcessor(base) : base;
  const payments = createPayments({ store, cache, processor, cardKey });
  const server = await serve({
    name: "payment",
    port: config.port,
    adminPort: config.adminPort,
    config: config.mesh,
    services: [{ service: PaymentService, impl: createPaymentHandlers(payments) }],
    logger: log,
  });
  running = { server, store, ledger, redis };
  return { port: server.port, adminPort: server.adminPort };
}

/** Drains in-flight calls, then closes the stores. */
export async function stopServer(): Promise<void> {
  const r = running;
  running = undefined;
  if (!r) return;
  await r.server.close(5000);
  r.redis.disconnect();
  await r.store.close();
  await r.ledger.close();
}
