// The whole shop in-process for the security tests: auth, catalog (seeded), cart, payment and order
// on free loopback ports over mTLS, wired to each other, against the shared test FerretDB and Redis
// (unique database names and key prefixes), plus the Python recommendation service as a subprocess
// that fetches the test mesh's JWKS over HTTP. Nothing here is faked: every RPC reaches real code.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Client } from "@grpc/grpc-js";
import { MongoClient } from "mongodb";
import { Redis } from "ioredis";
import { closeClients } from "@shopmesh/mesh";
import { createTestMesh, rawClient, type TestMesh } from "@shopmesh/mesh/testing";
import { parseAuthConfig } from "../../services/auth/src/config.js";
import { startServer as startAuth, stopServer as stopAuth } from "../../services/auth/src/server.js";
import { parseCartConfig } from "../../services/cart/src/config.js";
import { startServer as startCart, stopServer as stopCart } from "../../services/cart/src/server.js";
import { parseCatalogConfig } from "../../services/catalog/src/config.js";
import { startServer as startCatalog, stopServer as stopCatalog } from "../../services/catalog/src/server.js";
import { parseOrderConfig } from "../../services/order/src/config.js";
import { startServer as startOrder, stopServer as stopOrder } from "../../services/order/src/server.js";
import { parsePaymentConfig } from "../../services/payment/src/config.js";
import { startServer as startPayment, stopServer as stopPayment } from "../../services/payment/src/server.js";
import { freePort, waitForPort } from "../support/stores.js";

const repo = path.resolve(import.meta.dirname, "../..");
/** The audience every service requires and the test tokens carry, as JWT_AUDIENCE does in a real mesh (runner/src/plan.ts). */
export const SHOP_AUDIENCE = "shopmesh-security";

/** Mesh service names, as in mesh/topology.json. */
export type ServiceName = "auth" | "catalog" | "cart" | "payment" | "order" | "recommendation";

/** A running shop for one test file. */
export interface Shop {
  /** The identities, certificates and JWT signer every service trusts. */
  mesh: TestMesh;
  /** gRPC port of each service. */
  ports: Record<ServiceName, number>;
  /** The random tag in this shop's database names and key prefixes. */
  tag: string;
  /** Database name of each Mongo-backed service. */
  dbs: { auth: string; catalog: string; payment: string; order: string };
  /** Cart's Redis key prefix. */
  cartPrefix: string;
  /** OS pid of the Python recommendation process (undefined when skipped). */
  recommendationPid: number | undefined;
  /** A raw (bytes in, status out) grpc-js client to `service` as mesh identity `as` (undefined: no client cert); cached. */
  raw(service: ServiceName, as: string | undefined): Client;
  /** Stops everything and drops this shop's databases and keys. */
  stop(): Promise<void>;
}

/** Starts the shop; `recommendation: false` skips the Python subprocess (its port is then 0). */
export async function startShop(opts: { recommendation?: boolean } = {}): Promise<Shop> {
  const mongoUrl = process.env.SHOP_TEST_MONGO_URL!;
  const redisUrl = process.env.SHOP_TEST_REDIS_URL!;
  const tag = randomBytes(4).toString("hex");
  const dbs = { auth: `sec_auth_${tag}`, catalog: `sec_catalog_${tag}`, payment: `sec_payment_${tag}`, order: `sec_order_${tag}` };
  const prefix = `sec_${tag}:`;
  // Every service checks iss and aud, as in a real mesh: a token for another issuer or audience
  // must be refused, not pass because nobody looks (issue 14).
  const mesh = await createTestMesh(undefined, { audience: SHOP_AUDIENCE });
  const keyDir = mkdtempSync(path.join(tmpdir(), "sec-keys-"));
  const stops: (() => Promise<void>)[] = [];
  let jwksServer: Server | undefined;
  let python: ChildProcess | undefined;
  // Recommendation keeps its counts unprefixed: give it a Redis database of its own (1..15); the
  // test Redis is thrown away after the run, so its few keys are left there.
  const recRedisDb = 1 + (parseInt(tag.slice(0, 4), 16) % 15);

  const catalog = await startCatalog({
    ...parseCatalogConfig({ PORT: "0", ADMIN_PORT: "0", MONGO_URL: mongoUrl, MONGO_DB: dbs.catalog, REDIS_URL: redisUrl, REDIS_PREFIX: `${prefix}catalog:` }),
    mesh: mesh.config("catalog"),
  });
  stops.push(stopCatalog);

  let recommendationPort = 0;
  if (opts.recommendation !== false) {
    // The suites cover every RPC of the contracts, the Python service's too: without it they fail
    // here, loudly, instead of reporting its cells as refused calls (make setup makes the venv).
    const py = path.join(repo, ".venv/bin/python");
    if (!existsSync(py)) throw new Error(`shop: ${py} is missing, so the Python recommendation service cannot start (run make setup)`);
    jwksServer = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(mesh.jwks));
    });
    await new Promise<void>((resolve) => jwksServer!.listen(0, "127.0.0.1", resolve));
    const jwksPort = (jwksServer.address() as { port: number }).port;
    recommendationPort = await freePort();
    python = spawn(py, ["-m", "recommendation"], {
      cwd: path.join(repo, "services/recommendation"),
      env: {
        ...process.env, PORT: String(recommendationPort), ADMIN_PORT: "-1", REDIS_URL: `${redisUrl}/${recRedisDb}`,
        CATALOG_ADDR: `127.0.0.1:${catalog.port}`, MESH_CERT_DIR: mesh.certDir, MESH_MODE: "local",
        JWKS_URL: `http://127.0.0.1:${jwksPort}/jwks.json`, JWT_ISSUER: mesh.issuer, JWT_AUDIENCE: SHOP_AUDIENCE, LOG_LEVEL: "WARNING",
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    await waitForPort(recommendationPort, 20_000, python);
  }

  const cart = await startCart(parseCartConfig({
    PORT: "0", ADMIN_PORT: "off", REDIS_URL: redisUrl, REDIS_PREFIX: `${prefix}cart:`, CATALOG_ADDR: `127.0.0.1:${catalog.port}`,
  }, mesh.config("cart")));
  stops.push(stopCart);
  const payment = await startPayment(parsePaymentConfig({
    PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: dbs.payment, REDIS_URL: redisUrl, REDIS_PREFIX: `${prefix}payment:`,
  }, mesh.config("payment")));
  stops.push(stopPayment);
  const order = await startOrder(parseOrderConfig({
    PORT: "0", ADMIN_PORT: "off", MONGO_URL: mongoUrl, MONGO_DB: dbs.order,
    CART_ADDR: `127.0.0.1:${cart.port}`, CATALOG_ADDR: `127.0.0.1:${catalog.port}`, PAYMENT_ADDR: `127.0.0.1:${payment.port}`,
    // Without the Python service, order's best-effort RecordPurchase hits a closed port and moves on.
    RECOMMENDATION_ADDR: `127.0.0.1:${recommendationPort || 1}`,
  }, mesh.config("order")));
  stops.push(stopOrder);
  const auth = await startAuth({
    ...parseAuthConfig({ PORT: "0", ADMIN_PORT: "0", MONGO_URL: mongoUrl, MONGO_DB: dbs.auth, REDIS_URL: redisUrl,
      REDIS_PREFIX: `${prefix}auth:`, JWT_KEY_FILE: path.join(keyDir, "jwt.pem"),
      LOGIN_MAX_FAILURES: "1000" }),
    // auth trusts the test mesh's signer, like every other service, so one token works everywhere.
    mesh: mesh.config("auth"),
  });
  stops.push(stopAuth);

  const ports: Record<ServiceName, number> = { auth: auth.port, catalog: catalog.port, cart: cart.port, payment: payment.port,
    order: order.port, recommendation: recommendationPort };
  const clients = new Map<string, Client>();
  return {
    mesh, ports, tag, dbs, cartPrefix: `${prefix}cart:`, recommendationPid: python?.pid,
    raw(service, as) {
      const key = `${service}/${as ?? "-"}`;
      let c = clients.get(key);
      if (c === undefined) {
        c = rawClient(mesh, ports[service], as, service);
        clients.set(key, c);
      }
      return c;
    },
    async stop() {
      for (const c of clients.values()) c.close();
      closeClients();
      if (python && python.exitCode === null) {
        const exited = new Promise((r) => python!.once("exit", r));
        python.kill("SIGTERM");
        const timer = setTimeout(() => python!.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await Promise.all(stops.map((s) => s()));
      jwksServer?.close();
      const mongo = await MongoClient.connect(mongoUrl);
      try {
        for (const db of Object.values(dbs)) await mongo.db(db).dropDatabase();
      } finally {
        await mongo.close();
      }
      const redis = new Redis(redisUrl);
      try {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
      } finally {
        redis.disconnect();
      }
      rmSync(keyDir, { recursive: true, force: true });
      mesh.dispose();
    },
  };
}
