// make up OBSERVE=1's plan: when it is on, what the services are told, and the three processes.
import { observeOn, observePlans, otelEnv, OBSERVE_PORTS } from "./plan.js";
import { tracingConfig } from "@shopmesh/mesh";

test("on with OBSERVE=1, or while an earlier up recorded its processes; a bad value is refused", () => {
  expect(observeOn({}, [])).toBe(false);
  expect(observeOn({ OBSERVE: "1" }, [])).toBe(true);
  expect(observeOn({ OBSERVE: "0" }, [])).toBe(false);
  expect(observeOn({}, [{ kind: "store" }, { kind: "observe" }])).toBe(true);
  expect(() => observeOn({ OBSERVE: "yes" }, [])).toThrow("OBSERVE=yes: must be 1 (or unset)");
});

test("the services' OTEL_* settings are ones mesh/src/tracing.ts accepts: Zipkin on its port, every call sampled", () => {
  expect(tracingConfig(otelEnv())).toMatchObject({ exporter: "zipkin", endpoint: `http://127.0.0.1:${OBSERVE_PORTS.zipkin}/api/v2/spans`,
    sampler: "parentbased_always_on", ratio: 1 });
});

test("Zipkin, Prometheus and the dashboard, each on loopback and probed over HTTP on its own port", () => {
  const plans = observePlans();
  expect(plans.map((p) => [p.name, p.kind, p.port])).toEqual([["zipkin", "observe", 9411], ["prometheus", "observe", 9190], ["dashboard", "observe", 3000]]);
  for (const p of plans) expect(p.probe).toEqual({ http: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:${p.port}/`)) });
  expect(plans[0]!.command).toContain("--armeria.ports[0].ip=127.0.0.1");
  expect(plans[1]!.command).toContain("--web.listen-address=127.0.0.1:9190");
});
