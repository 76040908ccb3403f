// The order config schema: defaults match mesh/topology.json, and bad values fail at start with
// every offending variable named.
import { loadTopology } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { parseOrderConfig } from "./config.js";

const topology = loadTopology();

let mesh: TestMesh;
beforeAll(async () => { mesh = await createTestMesh(); });
afterAll(() => mesh.dispose());

test("defaults come from the topology's ports", () => {
  const c = parseOrderConfig({}, mesh.config("order"));
  expect(c.port).toBe(topology.services.order!.port);
  expect(c.adminPort).toBe(topology.services.order!.adminPort);
  expect(c.mesh.name).toBe("order");
  expect(parseOrderConfig({ ADMIN_PORT: "off" }, mesh.config("order")).adminPort).toBeUndefined();
});

test("bad values are refused, all named in one error", () => {
  expect(() => parseOrderConfig({ PORT: "70000", ADMIN_PORT: "x" }, mesh.config("order"))).toThrow(/PORT="70000".*ADMIN_PORT="x"/);
});
