// Cart's configuration: one typed schema (env name, default, doc per key), checked at start.
// main.ts is the only caller that passes process.env.
import { type MeshConfig, parseSettings, parsers, type Setting } from "@shopmesh/mesh";

/** Everything the cart service needs to start. */
export interface CartConfig {
  port: number;
  /** HTTP /metrics and /healthz; undefined = no admin server. */
  adminPort: number | undefined;
  redisUrl: string;
  /** Prefix of every Redis key this service writes ("cart:" → cart:<userId>). */
  redisPrefix: string;
  /** Cart lifetime after its last change, seconds. */
  ttlSeconds: number;
  /** catalog's gRPC address, host:port. */
  catalogAddr: string;
  /** How many product ids catalog confirmed this process remembers (AddItem then skips catalog). */
  knownProducts: number;
  mesh: MeshConfig;
}

const { int, str, portOrOff } = parsers;

/** The schema: env name, default and meaning of every setting (also listed in README.md). */
export const cartConfigSchema = {
  port: { env: "PORT", def: "50053", doc: "gRPC port (0 = any free port)", parse: int(0, 65535) },
  adminPort: { env: "ADMIN_PORT", def: "9093", doc: "admin HTTP port for /metrics and /healthz; 'off' = none", parse: portOrOff },
  redisUrl: { env: "REDIS_URL", def: "redis://127.0.0.1:6380", doc: "Redis URL (the cart store)", parse: str },
  redisPrefix: { env: "REDIS_PREFIX", def: "cart:", doc: "prefix of this service's Redis keys", parse: str },
  ttlSeconds: { env: "CART_TTL_SECONDS", def: String(7 * 24 * 3600), doc: "cart lifetime after its last change, s", parse: int(1, 365 * 24 * 3600) },
  catalogAddr: { env: "CATALOG_ADDR", def: "127.0.0.1:50052", doc: "catalog's gRPC address", parse: str },
  knownProducts: { env: "CART_KNOWN_PRODUCTS", def: "10000", doc: "product ids catalog confirmed that this process remembers, so AddItem of one skips catalog (catalog has no delete); 0 = ask every time", parse: int(0, 1_000_000) },
} satisfies Record<string, Setting<unknown>>;

/** Reads and checks every setting; throws one error naming every bad variable. */
export function parseCartConfig(env: Record<string, string | undefined>, mesh: MeshConfig): CartConfig {
  return { ...parseSettings("cart", cartConfigSchema, env), mesh };
}
