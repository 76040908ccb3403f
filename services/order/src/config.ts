// Order's configuration: one typed schema (env name, default, doc per key), checked at start.
// main.ts is the only caller that passes process.env.
import type { MeshConfig } from "@shopmesh/mesh";

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

type Raw = Record<string, string | undefined>;
interface Key<T> { env: string; doc: string; def: string; parse: (s: string) => T }

const int = (min: number, max: number) => (s: string): number => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`must be an integer ${min}..${max}`);
  return n;
};
const str = (s: string): string => s;

/** The schema: env name, default and meaning of every setting (also listed in README.md). */
export const orderConfigSchema = {
  port: { env: "PORT", def: "50055", doc: "gRPC port (0 = any free port)", parse: int(0, 65535) },
  adminPort: { env: "ADMIN_PORT", def: "9095", doc: "admin HTTP port for /metrics and /healthz; 'off' = none", parse: (s: string) => (s === "off" ? undefined : int(0, 65535)(s)) },
  mongoUrl: { env: "MONGO_URL", def: "mongodb://127.0.0.1:27018/", doc: "MongoDB (FerretDB) URL", parse: str },
  mongoDb: { env: "MONGO_DB", def: "shop_order", doc: "database name", parse: str },
  cartAddr: { env: "CART_ADDR", def: "127.0.0.1:50053", doc: "cart's gRPC address", parse: str },
  catalogAddr: { env: "CATALOG_ADDR", def: "127.0.0.1:50052", doc: "catalog's gRPC address", parse: str },
  paymentAddr: { env: "PAYMENT_ADDR", def: "127.0.0.1:50054", doc: "payment's gRPC address", parse: str },
  recommendationAddr: { env: "RECOMMENDATION_ADDR", def: "127.0.0.1:50056", doc: "recommendation's gRPC address", parse: str },
  recommendationTimeoutMs: { env: "RECOMMENDATION_TIMEOUT_MS", def: "300", doc: "deadline of the best-effort RecordPurchase, ms", parse: int(10, 10_000) },
} satisfies Record<string, Key<unknown>>;

/** Reads and checks every setting; throws one error naming every bad variable. */
export function parseOrderConfig(env: Raw, mesh: MeshConfig): OrderConfig {
  const errors: string[] = [];
  const out: Record<string, unknown> = { mesh };
  for (const [name, key] of Object.entries(orderConfigSchema) as [string, Key<unknown>][]) {
    const raw = env[key.env] ?? key.def;
    try {
      out[name] = key.parse(raw);
    } catch (err) {
      errors.push(`${key.env}=${JSON.stringify(raw)}: ${(err as Error).message}`);
    }
  }
  if (errors.length) throw new Error(`bad order configuration: ${errors.join("; ")}`);
  return out as unknown as OrderConfig;
}
