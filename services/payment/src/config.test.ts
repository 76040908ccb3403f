// The payment config schema: defaults match mesh/topology.json, and bad values fail at start with
// every offending variable named.
import { loadTopology } from "@shopmesh/mesh";
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { parsePaymentConfig } from "./config.js";

const topology = loadTopology();

let mesh: TestMesh;
beforeAll(async () => { mesh = await createTestMesh(); });
afterAll(() => mesh.dispose());

test("defaults come from the topology's ports", () => {
  const c = parsePaymentConfig({}, mesh.config("payment"));
  expect(c.port).toBe(topology.services.payment!.port);
  expect(c.adminPort).toBe(topology.services.payment!.adminPort);
  expect(c.mesh.name).toBe("payment");
  expect(parsePaymentConfig({ ADMIN_PORT: "off" }, mesh.config("payment")).adminPort).toBeUndefined();
});

test("bad values are refused, all named in one error", () => {
  expect(() => parsePaymentConfig({ PORT: "70000", ADMIN_PORT: "x" }, mesh.config("payment"))).toThrow(/PORT="70000".*ADMIN_PORT="x"/);
});

test("fault knobs are range-checked", () => {
  const c = parsePaymentConfig({ PAYMENT_FAULT_LATENCY_MS: "250", PAYMENT_FAULT_FAILURE_RATE: "0.25" }, mesh.config("payment"));
  expect([c.faultLatencyMs, c.faultFailureRate]).toEqual([250, 0.25]);
  expect(() => parsePaymentConfig({ PAYMENT_FAULT_FAILURE_RATE: "1.5" }, mesh.config("payment"))).toThrow(/PAYMENT_FAULT_FAILURE_RATE/);
});
