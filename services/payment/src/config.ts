// Payment's configuration: one typed schema (env name, default, doc per key), checked at start.
// main.ts is the only caller that passes process.env.
import { type MeshConfig, parseSettings, parsers, type Setting } from "@shopmesh/mesh";

/** Everything the payment service needs to start. */
export interface PaymentConfig {
  port: number;
  /** HTTP /metrics and /healthz; undefined = no admin server. */
  adminPort: number | undefined;
  mongoUrl: string;
  mongoDb: string;
  redisUrl: string;
  /** Prefix of every Redis key this service writes. */
  redisPrefix: string;
  /** The simulated processor's own database (its ledger); empty = "<mongoDb>_processor". */
  processorDb: string;
  /** HMAC key for card fingerprints; empty = a random key generated once and kept in Mongo. */
  cardHashKey: string;
  faultLatencyMs: number;
  faultFailureRate: number;
  mesh: MeshConfig;
}

const { int, num, str, portOrOff } = parsers;

/** The schema: env name, default and meaning of every setting (also listed in README.md). */
export const paymentConfigSchema = {
  port: { env: "PORT", def: "50054", doc: "gRPC port (0 = any free port)", parse: int(0, 65535) },
  adminPort: { env: "ADMIN_PORT", def: "9094", doc: "admin HTTP port for /metrics and /healthz; 'off' = none", parse: portOrOff },
  mongoUrl: { env: "MONGO_URL", def: "mongodb://127.0.0.1:27018/", doc: "MongoDB (FerretDB) URL", parse: str },
  mongoDb: { env: "MONGO_DB", def: "shop_payment", doc: "database name", parse: str },
  redisUrl: { env: "REDIS_URL", def: "redis://127.0.0.1:6380", doc: "Redis URL (the fast path cache)", parse: str },
  redisPrefix: { env: "REDIS_PREFIX", def: "payment:", doc: "prefix of this service's Redis keys", parse: str },
  processorDb: {
    env: "PAYMENT_PROCESSOR_DB", def: "", doc: "database of the simulated processor's ledger (its book, not ours); empty = <MONGO_DB>_processor",
    parse: str,
  },
  cardHashKey: { env: "PAYMENT_CARD_HASH_KEY", def: "", doc: "HMAC key for card fingerprints (set from a secret in production)", parse: str },
  faultLatencyMs: { env: "PAYMENT_FAULT_LATENCY_MS", def: "0", doc: "added processor latency, ms", parse: int(0, 600_000) },
  faultFailureRate: {
    env: "PAYMENT_FAULT_FAILURE_RATE", def: "0", doc: "probability 0..1 that the processor fails (Unavailable)",
    parse: num(0, 1),
  },
} satisfies Record<string, Setting<unknown>>;

/** Reads and checks every setting; throws one error naming every bad variable. */
export function parsePaymentConfig(env: Record<string, string | undefined>, mesh: MeshConfig): PaymentConfig {
  return { ...parseSettings("payment", paymentConfigSchema, env), mesh };
}
