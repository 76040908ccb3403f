// Every TypeScript service's config defaults to its ports in mesh/topology.json, and a bad value
// stops the start with every offending variable named: one table, not a copy per service. What a
// service's config does beyond that is tested beside it (services/*/src/config.test.ts).
import { loadTopology } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { parseAuthConfig } from "../../services/auth/src/config.js";
import { parseCartConfig } from "../../services/cart/src/config.js";
import { parseCatalogConfig } from "../../services/catalog/src/config.js";
import { parseOrderConfig } from "../../services/order/src/config.js";
import { parsePaymentConfig } from "../../services/payment/src/config.js";

const topology = loadTopology();

let mesh: TestMesh;
beforeAll(async () => { mesh = await createTestMesh(); });
afterAll(() => mesh.dispose());

type Env = Record<string, string | undefined>;
const parsers: Record<string, (env: Env) => { port: number; adminPort: number | undefined }> = {
  auth: (env) => parseAuthConfig(env),
  catalog: (env) => parseCatalogConfig(env),
  cart: (env) => parseCartConfig(env, mesh.config("cart")),
  order: (env) => parseOrderConfig(env, mesh.config("order")),
  payment: (env) => parsePaymentConfig(env, mesh.config("payment")),
};

describe.each(Object.keys(parsers))("%s config", (name) => {
  const parse = (env: Env) => parsers[name]!(env);

  test("defaults to the topology's ports", () => {
    const c = parse({});
    expect([c.port, c.adminPort]).toEqual([topology.services[name]!.port, topology.services[name]!.adminPort]);
  });

  test("bad values are refused, all named in one error", () => {
    expect(() => parse({ PORT: "70000", ADMIN_PORT: "x" })).toThrow(/PORT="70000".*ADMIN_PORT="x"/);
  });
});

test.each(["cart", "order", "payment"])("%s: ADMIN_PORT=off means no admin server", (name) => {
  expect(parsers[name]!({ ADMIN_PORT: "off" }).adminPort).toBeUndefined();
});
