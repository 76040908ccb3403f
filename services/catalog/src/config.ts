// Typed configuration of the catalog service. main.ts hands in the environment; this file owns
// the names, defaults and docs of every key, and refuses to start on a bad or missing value.
import { parseSettings, parsers, type Setting } from "@shopmesh/mesh";

/** Everything catalog needs to start, already parsed. */
export interface CatalogConfig {
  /** MESH_MODE: "local" or "istio". */
  mode: "local" | "istio";
  /** PORT: gRPC port; 0 picks a free one. */
  port: number;
  /** ADMIN_PORT: HTTP port for /metrics and /healthz; 0 picks a free one. */
  adminPort: number;
  /** MONGO_URL: the MongoDB (FerretDB) server. */
  mongoUrl: string;
  /** MONGO_DB: catalog's own database. */
  mongoDb: string;
  /** REDIS_URL: Redis for change events. */
  redisUrl: string;
  /** REDIS_PREFIX: prefix of event channels. */
  redisPrefix: string;
  /** VIEW_RESYNC_SECONDS: period of the view's full reload from MongoDB (lost change events). */
  viewResyncSeconds: number;
  /** PAGE_TOKEN_SECRET: HMAC key of page tokens, at least 32 characters; every replica needs the same. */
  pageTokenSecret: string;
  /** CATALOG_SEED: insert the fixture products missing from the store at start. */
  seed: boolean;
}

const { int, str, bool, oneOf } = parsers;

// Only for the one-machine mesh: a fixed dev key keeps tokens valid across restarts. Istio mode
// refuses to start without a real secret.
const DEV_PAGE_TOKEN_SECRET = "shopmesh-local-dev-page-token-secret-not-for-production";

/** The schema: one entry per key, with its environment name, default and doc. */
export const catalogConfigSchema = {
  mode: { env: "MESH_MODE", def: "local", doc: "local | istio", parse: oneOf("local", "istio") },
  port: { env: "PORT", def: "50052", doc: "gRPC port", parse: int(0, 65535) },
  adminPort: { env: "ADMIN_PORT", def: "9092", doc: "admin HTTP port (metrics, health)", parse: int(0, 65535) },
  mongoUrl: { env: "MONGO_URL", def: "mongodb://127.0.0.1:27018/", doc: "MongoDB URL", parse: str },
  mongoDb: { env: "MONGO_DB", def: "shop_catalog", doc: "database name", parse: str },
  redisUrl: { env: "REDIS_URL", def: "redis://127.0.0.1:6380", doc: "Redis URL", parse: str },
  redisPrefix: { env: "REDIS_PREFIX", def: "catalog:", doc: "event channel prefix", parse: str },
  viewResyncSeconds: { env: "VIEW_RESYNC_SECONDS", def: "30", doc: "period of the view's full reload from MongoDB",
    parse: int(1, 86_400) },
  pageTokenSecret: { env: "PAGE_TOKEN_SECRET", def: undefined, doc: "HMAC key of page tokens (>= 32 chars)",
    parse: (raw: string) => {
      if (raw.length < 32) throw new Error("must be at least 32 characters");
      return raw;
    } },
  seed: { env: "CATALOG_SEED", def: "true", doc: "insert missing fixture products at start", parse: bool },
} satisfies { [K in keyof CatalogConfig]-?: Setting<CatalogConfig[K]> };

/** Parses the environment into a CatalogConfig; throws one error listing every bad key. */
export function parseCatalogConfig(env: Record<string, string | undefined>): CatalogConfig {
  const c = parseSettings("catalog", catalogConfigSchema, env, (v) =>
    v.mode === "istio" && v.pageTokenSecret === undefined ? ["PAGE_TOKEN_SECRET is required in istio mode (mount it from a Secret)"] : []);
  return { ...c, pageTokenSecret: c.pageTokenSecret ?? DEV_PAGE_TOKEN_SECRET };
}
