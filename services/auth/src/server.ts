// Wires auth: Mongo users, Redis sessions and limits, the signing key, the use cases and the
// gRPC handlers, hosted by mesh serve(); the JWKS is served on the admin port.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createLocalJWKSet } from "jose";
import { createLogger, openRedis, serve, type MeshConfig, type MeshServer } from "@shopmesh/mesh";
import { AuthService } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import type { AuthConfig } from "./config.js";
import { AUDIENCE, ISSUER } from "./domain/access-tokens.js";
import { createAuth } from "./domain/auth.js";
import { jwks, loadSigningKeys } from "./domain/signing-keys.js";
import { authHandlers } from "./handlers.js";
import { createMongoUserStore } from "./store/mongo-user-store.js";
import { createRedisLoginLimiter, createRedisSessionStore } from "./store/redis-session-store.js";

/** What startServer needs: auth's own config plus the mesh's. */
export type AuthServerConfig = AuthConfig & { mesh: MeshConfig };

/** Path of the JWKS on the admin port. */
export const JWKS_PATH = "/.well-known/jwks.json";

const running = new Set<() => Promise<void>>();

/** Starts auth; resolves with the bound ports. */
export async function startServer(config: AuthServerConfig): Promise<{ port: number; adminPort?: number }> {
  const log = createLogger("auth");
  const keys = await loadSigningKeys({ keyFile: config.jwtKeyFile, previousKeyFile: config.jwtPreviousKeyFile,
    createIfMissing: config.mode === "local" });
  const users = await createMongoUserStore({ url: config.mongoUrl, db: config.mongoDb });
  let lastRedisLog = 0;
  const redis = await openRedis(config.redisUrl, {
    onError: (err) => {
      // ioredis emits an error per reconnect attempt; one line every 10 s is enough to see an outage.
      if (Date.now() - lastRedisLog > 10_000) {
        lastRedisLog = Date.now();
        log.warn({ err: err.message }, "redis unavailable");
      }
    },
    onConnectError: () => log.warn("redis not ready at start; Login and Refresh fail until it is"),
  });

  const auth = await createAuth({
    users,
    sessions: createRedisSessionStore({ redis, prefix: config.redisPrefix, ttlSeconds: config.refreshTokenTtlSeconds }),
    limiter: createRedisLoginLimiter({ redis, prefix: config.redisPrefix, windowSeconds: config.loginFailureWindowSeconds }),
    signingKey: keys.current,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    loginMaxFailures: config.loginMaxFailures,
  });

  const keySet = jwks(keys);
  const body = JSON.stringify(keySet);
  // auth verifies its own tokens (GetUser) with its own keys: no HTTP round trip to itself, and
  // the mesh config need not point JWKS_URL at auth.
  const mesh: MeshConfig = config.mesh.jwt.jwksUrl || config.mesh.jwt.getKey ? config.mesh
    : { ...config.mesh, jwt: { getKey: createLocalJWKSet(keySet), issuer: ISSUER, audience: AUDIENCE } };

  let server: MeshServer;
  try {
    server = await serve({
      name: "auth",
      port: config.port,
      adminPort: config.adminPort,
      services: [{ service: AuthService, impl: authHandlers(auth) }],
      config: mesh,
      logger: log,
      adminRoutes: {
        [JWKS_PATH]: (_req: IncomingMessage, res: ServerResponse) => {
          res.writeHead(200, { "content-type": "application/jwk-set+json", "cache-control": "public, max-age=300" });
          res.end(body);
        },
      },
    });
  } catch (err) {
    redis.disconnect();
    await users.close();
    throw err;
  }
  const stop = async () => {
    await server.close(5_000);
    redis.disconnect();
    await users.close();
  };
  running.add(stop);
  log.info({ port: server.port, adminPort: server.adminPort, kid: keys.current.kid }, "auth serving");
  return server.adminPort === undefined ? { port: server.port } : { port: server.port, adminPort: server.adminPort };
}

/** Stops every server startServer started in this process (graceful, then forced). */
export async function stopServer(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map((s) => s()));
}
