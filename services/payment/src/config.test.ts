// Payment's own settings; the ports and the one-error-for-all-bad-values rule every service shares
// are tested once, in test/contracts/service-config.test.ts.
import { createTestMesh, type TestMesh } from "@shopmesh/mesh/testing";
import { parsePaymentConfig } from "./config.js";

let mesh: TestMesh;
beforeAll(async () => { mesh = await createTestMesh(); });
afterAll(() => mesh.dispose());

test("fault knobs are range-checked", () => {
  const c = parsePaymentConfig({ PAYMENT_FAULT_LATENCY_MS: "250", PAYMENT_FAULT_FAILURE_RATE: "0.25" }, mesh.config("payment"));
  expect([c.faultLatencyMs, c.faultFailureRate]).toEqual([250, 0.25]);
  expect(() => parsePaymentConfig({ PAYMENT_FAULT_FAILURE_RATE: "1.5" }, mesh.config("payment"))).toThrow(/PAYMENT_FAULT_FAILURE_RATE/);
});
