// Typed configuration of the auth service. main.ts hands in the environment; this file owns the
// names, defaults and docs of every key, and refuses to start on a bad or missing value.
import { parseSettings, parsers, type Setting } from "@shopmesh/mesh";

/** Everything auth needs to start, already parsed. */
export interface AuthConfig {
  /** MESH_MODE: "local" (app-level mTLS, dev keys created on demand) or "istio". */
  mode: "local" | "istio";
  /** PORT: gRPC port; 0 picks a free one. */
  port: number;
  /** ADMIN_PORT: HTTP port for /metrics, /healthz and the JWKS; 0 picks a free one. */
  adminPort: number;
  /** MONGO_URL: the MongoDB (FerretDB) server. */
  mongoUrl: string;
  /** MONGO_DB: auth's own database. */
  mongoDb: string;
  /** REDIS_URL: Redis for refresh tokens and login rate limits. */
  redisUrl: string;
  /** REDIS_PREFIX: prefix of every Redis key auth writes (tests use a unique one). */
  redisPrefix: string;
  /** JWT_KEY_FILE: PKCS#8 PEM of the ES256 signing key. */
  jwtKeyFile: string;
  /** JWT_PREVIOUS_KEY_FILE: optional PEM of the key being rotated out; its public half stays in the JWKS. */
  jwtPreviousKeyFile?: string;
  /** ACCESS_TOKEN_TTL_SECONDS: lifetime of an access JWT. */
  accessTokenTtlSeconds: number;
  /** REFRESH_TOKEN_TTL_SECONDS: lifetime of a refresh token family after its last use. */
  refreshTokenTtlSeconds: number;
  /** LOGIN_MAX_FAILURES: failed logins per email allowed within the window before ResourceExhausted. */
  loginMaxFailures: number;
  /** LOGIN_FAILURE_WINDOW_SECONDS: the rate-limit window. */
  loginFailureWindowSeconds: number;
}

const { int, str, oneOf } = parsers;

/** The schema: one entry per key, with its environment name, default and doc. */
export const authConfigSchema = {
  mode: { env: "MESH_MODE", def: "local", doc: "local | istio", parse: oneOf("local", "istio") },
  port: { env: "PORT", def: "50051", doc: "gRPC port", parse: int(0, 65535) },
  adminPort: { env: "ADMIN_PORT", def: "9091", doc: "admin HTTP port (metrics, health, JWKS)", parse: int(0, 65535) },
  mongoUrl: { env: "MONGO_URL", def: "mongodb://127.0.0.1:27018/", doc: "MongoDB URL", parse: str },
  mongoDb: { env: "MONGO_DB", def: "shop_auth", doc: "database name", parse: str },
  redisUrl: { env: "REDIS_URL", def: "redis://127.0.0.1:6380", doc: "Redis URL", parse: str },
  redisPrefix: { env: "REDIS_PREFIX", def: "auth:", doc: "Redis key prefix", parse: str },
  jwtKeyFile: { env: "JWT_KEY_FILE", def: ".run/keys/jwt-es256.pem", doc: "ES256 signing key (PKCS#8 PEM)", parse: str },
  jwtPreviousKeyFile: { env: "JWT_PREVIOUS_KEY_FILE", def: undefined, doc: "previous signing key, published in the JWKS during rotation", parse: str },
  accessTokenTtlSeconds: { env: "ACCESS_TOKEN_TTL_SECONDS", def: "900", doc: "access JWT lifetime", parse: int(10, 86_400) },
  refreshTokenTtlSeconds: { env: "REFRESH_TOKEN_TTL_SECONDS", def: "2592000", doc: "refresh token lifetime", parse: int(60, 31_536_000) },
  loginMaxFailures: { env: "LOGIN_MAX_FAILURES", def: "5", doc: "failed logins per email per window", parse: int(1, 1000) },
  loginFailureWindowSeconds: { env: "LOGIN_FAILURE_WINDOW_SECONDS", def: "900", doc: "rate-limit window", parse: int(1, 86_400) },
} satisfies { [K in keyof AuthConfig]-?: Setting<NonNullable<AuthConfig[K]>> };

/** Parses the environment into an AuthConfig; throws one error listing every bad key. */
export function parseAuthConfig(env: Record<string, string | undefined>): AuthConfig {
  return parseSettings("auth", authConfigSchema, env, (c) => [
    // Production keys come from a mounted Secret; silently generating one would split the JWKS per pod.
    ...(c.mode === "istio" && !env.JWT_KEY_FILE ? ["JWT_KEY_FILE is required in istio mode (mount the signing key from a Secret)"] : []),
    // It granted admin to whoever registered a listed email first (issue 14). Ignoring it would
    // silently leave a deployment that relied on it without admins, so it stops the start.
    ...(env.AUTH_ADMIN_EMAILS !== undefined
      ? ["AUTH_ADMIN_EMAILS is gone: Register never grants a role; an operator grants admin with `make admin EMAIL=…` (services/auth/README.md)"]
      : []),
  ]);
}
