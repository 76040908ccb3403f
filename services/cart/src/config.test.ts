// The cart config schema: defaults match mesh/topology.json, and bad values fail at start with
// every offending variable named.
import { loadTopology } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { parseCartConfig } from "./config.js";

const topology = loadTopology();

let mesh: TestMesh;
beforeAll(async () => { mesh = await createTestMesh(); });
afterAll(() => mesh.dispose());

test("defaults come from the topology's ports", () => {
  const c = parseCartConfig({}, mesh.config("cart"));
  expect(c.port).toBe(topology.services.cart!.port);
  expect(c.adminPort).toBe(topology.services.cart!.adminPort);
  expect(c.mesh.name).toBe("cart");
  expect(parseCartConfig({ ADMIN_PORT: "off" }, mesh.config("cart")).adminPort).toBeUndefined();
});

test("bad values are refused, all named in one error", () => {
  expect(() => parseCartConfig({ PORT: "70000", ADMIN_PORT: "x" }, mesh.config("cart"))).toThrow(/PORT="70000".*ADMIN_PORT="x"/);
});
