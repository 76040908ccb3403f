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
