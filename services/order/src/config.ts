// Order's configuration: one typed schema (env name, default, doc per key), checked at start.
// main.ts is the only caller that passes process.env.
import { type MeshConfig, parseSettings, parsers, type Setting } from "@shopmesh/mesh";

/** Everything the order service needs to start. */
export interface OrderConfig {
  port: number;
  /** HTTP /metrics and /healthz; undefined = no admin server. */
  adminPort: number | undefined;
  mongoUrl: string;
  mongoDb: string;
  redisUrl: string;
  /** Prefix of every Redis key this service writes. */
  redisPrefix: string;
  /** How many final order views this process keeps in memory, besides Redis. */
  cachedOrders: number;
  /** How long an order belongs to the call that placed it before the sweeper may settle it, ms. */
  leaseMs: number;
  /** Pause between sweeper rounds, ms. */
  sweepIntervalMs: number;
  /** Most orders the sweeper looks at per round. */
  sweepBatch: number;
  cartAddr: string;
  catalogAddr: string;
  paymentAddr: string;
  recommendationAddr: string;
  /** Deadline of the best-effort RecordPurchase, ms. */
  recommendationTimeoutMs: number;
  mesh: MeshConfig;
}

const { int, str, portOrOff } = parsers;

/** The schema: env name, default and meaning of every setting (also listed in README.md). */
export const orderConfigSchema = {
  port: { env: "PORT", def: "50055", doc: "gRPC port (0 = any free port)", parse: int(0, 65535) },
  adminPort: { env: "ADMIN_PORT", def: "9095", doc: "admin HTTP port for /metrics and /healthz; 'off' = none", parse: portOrOff },
  mongoUrl: { env: "MONGO_URL", def: "mongodb://127.0.0.1:27018/", doc: "MongoDB (FerretDB) URL", parse: str },
  mongoDb: { env: "MONGO_DB", def: "shop_order", doc: "database name", parse: str },
  redisUrl: { env: "REDIS_URL", def: "redis://127.0.0.1:6380", doc: "Redis URL (the derived order index and the sweeper's work list)", parse: str },
  redisPrefix: { env: "REDIS_PREFIX", def: "order:", doc: "prefix of this service's Redis keys", parse: str },
  cachedOrders: { env: "ORDER_CACHED_ORDERS", def: "5000", doc: "final orders (immutable) this process keeps in memory for GetOrder and ListOrders, besides Redis; 0 = none", parse: int(0, 1_000_000) },
  leaseMs: { env: "ORDER_LEASE_MS", def: "30000", doc: "how long an order belongs to the call that placed it before the sweeper settles it, ms", parse: int(200, 600_000) },
  sweepIntervalMs: { env: "ORDER_SWEEP_INTERVAL_MS", def: "5000", doc: "pause between sweeper rounds, ms", parse: int(100, 600_000) },
  sweepBatch: { env: "ORDER_SWEEP_BATCH", def: "50", doc: "most orders the sweeper settles per round", parse: int(1, 10_000) },
  cartAddr: { env: "CART_ADDR", def: "127.0.0.1:50053", doc: "cart's gRPC address", parse: str },
  catalogAddr: { env: "CATALOG_ADDR", def: "127.0.0.1:50052", doc: "catalog's gRPC address", parse: str },
  paymentAddr: { env: "PAYMENT_ADDR", def: "127.0.0.1:50054", doc: "payment's gRPC address", parse: str },
  recommendationAddr: { env: "RECOMMENDATION_ADDR", def: "127.0.0.1:50056", doc: "recommendation's gRPC address", parse: str },
  recommendationTimeoutMs: { env: "RECOMMENDATION_TIMEOUT_MS", def: "300", doc: "deadline of the best-effort RecordPurchase, ms", parse: int(10, 10_000) },
} satisfies Record<string, Setting<unknown>>;

/** Reads and checks every setting; throws one error naming every bad variable. */
export function parseOrderConfig(env: Record<string, string | undefined>, mesh: MeshConfig): OrderConfig {
  return { ...parseSettings("order", orderConfigSchema, env), mesh };
}
