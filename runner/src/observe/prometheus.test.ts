// The generated Prometheus files against the real mesh/topology.json, checked by the real promtool
// (Debian's prometheus package: bash tools/setup.sh observe): the config and rules must load, and
// `promtool test rules` evaluates the rules on made-up series, so each RED figure is proved by
// Prometheus's own engine. Nothing is started.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { loadTopology } from "@shopmesh/mesh";
import { topologyFile } from "../paths.js";
import { buildInstances } from "../routes.js";
import { kubernetesPrometheusConfig, prometheusConfig } from "./prometheus.js";

const run = promisify(execFile);
const promtool = "/usr/bin/promtool";
const topology = loadTopology(topologyFile);
let dir: string;

beforeAll(() => {
  if (!existsSync(promtool)) throw new Error(`${promtool} is missing: run bash tools/setup.sh observe (make setup does)`);
  dir = mkdtempSync(join(tmpdir(), "shopmesh-prometheus-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** promtool's exit and output; never throws. */
async function check(...args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await run(promtool, args, { cwd: dir, timeout: 30_000 });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}${e.message}` };
  }
}

function write(files: { config: string; rules: string }): void {
  writeFileSync(join(dir, "prometheus.yml"), files.config);
  writeFileSync(join(dir, "shopmesh-rules.yml"), files.rules);
}

test("promtool accepts the config (with its rules) for every replica, and refuses a broken one", async () => {
  const files = prometheusConfig(topology, buildInstances(topology, { catalog: 2 }));
  write(files);
  const config = await check("check", "config", "prometheus.yml");
  expect(config).toMatchObject({ ok: true });
  expect(config.out).toMatch(/SUCCESS: 9 rules found/);
  expect(await check("check", "rules", "shopmesh-rules.yml")).toMatchObject({ ok: true });

  // The check can fail: a rule whose PromQL does not parse, and a config with a bad interval.
  write({ config: files.config, rules: files.rules.replace("histogram_quantile(0.99,", "histogram_quantile(0.99") });
  expect(await check("check", "config", "prometheus.yml")).toMatchObject({ ok: false });
  write({ config: files.config.replace("scrape_interval: 5s", "scrape_interval: often"), rules: files.rules });
  expect(await check("check", "config", "prometheus.yml")).toMatchObject({ ok: false });
});

test("promtool accepts the cluster's config (istio/components/observability): pod discovery in the shop namespace, the same labels", async () => {
  const config = kubernetesPrometheusConfig(topology, "shopmesh-rules.yml");
  // Debian's Prometheus is built without Kubernetes discovery ("field kubernetes_sd_configs not
  // found"; the prom/prometheus image has it), so promtool checks everything else: the pod
  // discovery block is swapped for one static target, and the relabelling, rules and intervals stay.
  const sd = `    kubernetes_sd_configs:\n      - role: pod\n        namespaces: { names: ["${topology.namespace}"] }\n`;
  expect(config).toContain(sd);
  const checkable = (c: string) => c.replace(sd, `    static_configs:\n      - targets: ["127.0.0.1:1"]\n`);
  write({ config: checkable(config), rules: prometheusConfig(topology, []).rules });
  const checked = await check("check", "config", "prometheus.yml");
  expect(checked.out).toMatch(/SUCCESS: 9 rules found/);
  expect(checked).toMatchObject({ ok: true });
  expect(config).toContain(`namespaces: { names: ["${topology.namespace}"] }`);
  expect(config).toContain(`regex: "(${Object.keys(topology.services).join("|")})"\n        action: keep`);
  for (const label of ["service", "instance", "version"]) expect(config).toContain(`target_label: ${label}\n`);
  // The callee relabelling is the local one, line for line.
  const relabel = (c: string) => c.slice(c.indexOf("    metric_relabel_configs:"));
  expect(relabel(config)).toBe(relabel(prometheusConfig(topology, []).config));
  write({ config: checkable(config).replace("action: keep", "action: kept"), rules: prometheusConfig(topology, []).rules });
  expect(await check("check", "config", "prometheus.yml")).toMatchObject({ ok: false });
});

test("every replica is a target with its service and instance labels; every gRPC service maps to its callee", () => {
  const instances = buildInstances(topology, { catalog: 2 });
  const { config } = prometheusConfig(topology, instances);
  expect(config).toContain("scrape_interval: 5s");
  for (const i of instances) {
    expect(config).toContain(`- targets: ["127.0.0.1:${i.adminPort}"]\n        labels: { service: "${i.service}", instance: "${i.name}" }`);
  }
  expect(config.match(/- targets:/g)).toHaveLength(instances.length);
  for (const [name, spec] of Object.entries(topology.services)) {
    for (const g of spec.grpcServices) {
      expect(config).toContain(`regex: "grpc_client_.+;${g.replaceAll(".", "\\\\.")}"\n        target_label: callee\n        replacement: "${name}"`);
    }
  }
  expect(() => prometheusConfig(topology, [{ name: "billing", service: "billing", adminPort: 9999 }])).toThrow("billing is not in the topology");
});

test("the recording rules give each RED figure, per method, per service and per caller→callee edge", async () => {
  write(prometheusConfig(topology, buildInstances(topology, { catalog: 2 })));
  // Counters as the services export them (client series already relabelled with `callee`, as the
  // scrape does), rising every 5 s: `0+40x20` is 8 calls/s for 100 s; read at 1m over 30 s.
  const v2 = 'service="catalog",instance="catalog",grpc_type="unary",grpc_service="shop.catalog.v2.CatalogService",grpc_method="GetProduct"';
  const v1 = 'service="catalog",instance="catalog-2",grpc_type="unary",grpc_service="shop.catalog.v1.CatalogService",grpc_method="GetProduct"';
  const reco = 'service="recommendation",instance="recommendation",grpc_type="unary",grpc_service="shop.recommendation.v1.RecommendationService",grpc_method="ListRecommendations"';
  const charge = 'service="order",instance="order",grpc_service="shop.payment.v1.PaymentService",grpc_method="Charge",callee="payment"';
  const getProduct = 'service="cart",instance="cart",grpc_service="shop.catalog.v2.CatalogService",grpc_method="GetProduct",callee="catalog"';
  const series: [string, string][] = [
    [`grpc_server_handled_total{${v2},grpc_code="OK"}`, "0+40x20"],
    [`grpc_server_handled_total{${v2},grpc_code="NotFound"}`, "0+5x20"], // the caller's business: not an error
    [`grpc_server_handled_total{${v2},grpc_code="Unavailable"}`, "0+5x20"],
    [`grpc_server_handling_seconds_bucket{${v2},le="0.05"}`, "0+0x20"],
    [`grpc_server_handling_seconds_bucket{${v2},le="0.1"}`, "0+50x20"],
    [`grpc_server_handling_seconds_bucket{${v2},le="+Inf"}`, "0+50x20"],
    [`grpc_server_handled_total{${v1},grpc_code="OK"}`, "0+50x20"],
    // The Python service spells codes as grpcio does.
    [`grpc_server_handled_total{${reco},grpc_code="OK"}`, "0+15x20"],
    [`grpc_server_handled_total{${reco},grpc_code="UNAVAILABLE"}`, "0+5x20"],
    [`grpc_client_handled_total{${charge},grpc_code="OK"}`, "0+20x20"],
    [`grpc_client_handled_total{${charge},grpc_code="Unavailable"}`, "0+5x20"],
    [`grpc_client_handling_seconds_bucket{${charge},le="0.1"}`, "0+0x20"],
    [`grpc_client_handling_seconds_bucket{${charge},le="0.25"}`, "0+25x20"],
    [`grpc_client_handling_seconds_bucket{${charge},le="+Inf"}`, "0+25x20"],
    [`grpc_client_handled_total{${getProduct},grpc_code="OK"}`, "0+10x20"],
    // A call to something outside the topology (no callee): not an edge.
    ['grpc_client_handled_total{service="order",instance="order",grpc_service="other.v1.Thing",grpc_method="Do",grpc_code="OK"}', "0+10x20"],
  ];
  const method = (svc: string, grpc: string, m: string) => `{service="${svc}",grpc_service="${grpc}",grpc_method="${m}"}`;
  const expect1m = (expr: string, samples: [string, number][]) => ({
    expr, eval_time: "1m", exp_samples: samples.map(([labels, value]) => ({ labels: `${expr}${labels}`, value })),
  });
  const tests = {
    rule_files: ["shopmesh-rules.yml"],
    evaluation_interval: "5s",
    tests: [{
      interval: "5s",
      input_series: series.map(([s, values]) => ({ series: s, values })),
      promql_expr_test: [
        expect1m("service_method:grpc_server_requests:rate30s", [
          [method("catalog", "shop.catalog.v2.CatalogService", "GetProduct"), 10],
          [method("catalog", "shop.catalog.v1.CatalogService", "GetProduct"), 10],
          [method("recommendation", "shop.recommendation.v1.RecommendationService", "ListRecommendations"), 4],
        ]),
        expect1m("service_method:grpc_server_errors:ratio_rate30s", [
          [method("catalog", "shop.catalog.v2.CatalogService", "GetProduct"), 0.1],
          [method("catalog", "shop.catalog.v1.CatalogService", "GetProduct"), 0],
          [method("recommendation", "shop.recommendation.v1.RecommendationService", "ListRecommendations"), 0.25],
        ]),
        // 99% of 10 calls/s all in (0.05, 0.1]: interpolated at 0.05 + 0.05 × 0.99.
        expect1m("service_method:grpc_server_duration_seconds:p99_rate30s", [
          [method("catalog", "shop.catalog.v2.CatalogService", "GetProduct"), 0.0995],
        ]),
        expect1m("service:grpc_server_requests:rate30s", [['{service="catalog"}', 20], ['{service="recommendation"}', 4]]),
        expect1m("service:grpc_server_errors:ratio_rate30s", [['{service="catalog"}', 0.05], ['{service="recommendation"}', 0.25]]),
        expect1m("edge:grpc_client_requests:rate30s", [['{caller="order",callee="payment"}', 5], ['{caller="cart",callee="catalog"}', 2]]),
        expect1m("edge:grpc_client_errors:ratio_rate30s", [['{caller="order",callee="payment"}', 0.2], ['{caller="cart",callee="catalog"}', 0]]),
        expect1m("edge:grpc_client_duration_seconds:p99_rate30s", [['{caller="order",callee="payment"}', 0.2485]]),
      ],
    }],
  };
  // JSON is YAML, so promtool reads the test file as written.
  writeFileSync(join(dir, "red.test.yml"), JSON.stringify(tests, null, 1));
  const result = await check("test", "rules", "red.test.yml");
  expect(result.out).toContain("SUCCESS");
  expect(result.ok).toBe(true);
});
