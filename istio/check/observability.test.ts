// The observe overlay (the default one plus istio/components/observability): every check of the
// default overlay still holds, and the observability checks hold; each of those fails, naming its
// rule, when the manifests break it.
import { join } from "node:path";
import { loadTopology } from "@shopmesh/mesh";
import { crossCheck } from "./cross-check.js";
import { checkObservability, staleGenerated } from "./observability-check.js";
import { type Manifest, renderManifests, repoRoot } from "./render.js";
import { loadRpcIndex } from "./rpc-index.js";

const rpcs = loadRpcIndex(join(repoRoot, "gen", "shop.binpb"));
const topo = loadTopology();
const manifests = renderManifests("istio/overlays/observe");
const copy = (): Manifest[] => structuredClone(manifests);
const named = (ms: Manifest[], kind: string, name: string) => ms.find((m) => m.kind === kind && m.metadata.name.startsWith(name))!;

test("the observe overlay passes every check of the default overlay, and the observability checks", () => {
  expect(crossCheck(manifests, rpcs, topo)).toEqual([]);
  expect(checkObservability(manifests, topo)).toEqual([]);
  expect(staleGenerated(topo)).toEqual([]);
  // It adds the three workloads to the default overlay and changes nothing else but shop-config.
  const base = renderManifests("istio/overlays/default");
  const key = (m: Manifest) => `${m.kind}/${m.metadata.name.replace(/-[a-z0-9]{10}$/, "")}`;
  const added = manifests.map(key).filter((k) => !base.map(key).includes(k)).sort();
  expect(added).toEqual(["AuthorizationPolicy/otel-collector", "AuthorizationPolicy/zipkin", "ConfigMap/otel-collector-config",
    "ConfigMap/prometheus-config", "Deployment/otel-collector", "Deployment/prometheus", "Deployment/zipkin", "Role/prometheus",
    "RoleBinding/prometheus", "Service/otel-collector", "Service/prometheus", "Service/zipkin", "ServiceAccount/otel-collector",
    "ServiceAccount/prometheus", "ServiceAccount/zipkin"]);
  expect(named(manifests, "ConfigMap", "shop-config").data).toMatchObject({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" });
  expect(named(base, "ConfigMap", "shop-config").data?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("");
});

test("each observability rule fails when broken", () => {
  const broken = (edit: (ms: Manifest[]) => void): string[] => {
    const ms = copy();
    edit(ms);
    return checkObservability(ms, topo);
  };
  expect(broken((ms) => {
    const p = named(ms, "AuthorizationPolicy", "otel-collector").spec as { rules: { from: { source: { principals: string[] } }[] }[] };
    p.rules[0]!.from[0]!.source.principals.pop();
  })).toEqual([expect.stringMatching(/^AuthorizationPolicy shop\/otel-collector: allows \[.*\], should allow \[.*recommendation\]$/)]);
  expect(broken((ms) => {
    const p = named(ms, "AuthorizationPolicy", "zipkin").spec as { rules: { to?: unknown }[] };
    delete p.rules[0]!.to;
  })).toEqual(["AuthorizationPolicy shop/zipkin rules[0]: must be limited to port 9411, path /api/v2/spans"]);
  expect(broken((ms) => {
    named(ms, "ConfigMap", "shop-config").data!.OTEL_EXPORTER_OTLP_ENDPOINT = "";
  })).toEqual(['shop-config: OTEL_EXPORTER_OTLP_ENDPOINT is "", not the Collector\'s OTLP/HTTP port']);
  expect(broken((ms) => {
    const d = named(ms, "Deployment", "prometheus").spec as { template: { metadata: { annotations: Record<string, string> } } };
    delete d.template.metadata.annotations["sidecar.istio.io/inject"];
  })).toEqual(["Deployment shop/prometheus: must run without a sidecar (it scrapes port 15020 in plaintext)"]);
  expect(broken((ms) => {
    const c = named(ms, "ConfigMap", "prometheus-config");
    c.data!["shopmesh-rules.yml"] = c.data!["shopmesh-rules.yml"]!.replace("0.99", "0.9");
  })).toEqual([expect.stringMatching(/^ConfigMap shop\/prometheus-config-\w+: shopmesh-rules.yml is not the generated one$/)]);
  expect(broken((ms) => {
    const d = named(ms, "Deployment", "cart").spec as { template: { metadata: { annotations: Record<string, string> } } };
    d.template.metadata.annotations["prometheus.io/port"] = "50053";
  })).toEqual(['Deployment shop/cart: needs prometheus.io/scrape "true", port 9093 and path /metrics']);
  expect(broken((ms) => {
    const i = ms.findIndex((m) => m.kind === "Role");
    ms.splice(i, 1, { ...ms[i]!, kind: "ClusterRole" });
  })).toEqual(["Prometheus needs no cluster-wide role: pods in its namespace only", "no Role prometheus"]);
  expect(staleGenerated(topo, () => "# edited by hand\n")).toEqual([
    "istio/components/observability/prometheus.yml is stale: run node runner/dist/cli.js render-observability",
    "istio/components/observability/shopmesh-rules.yml is stale: run node runner/dist/cli.js render-observability",
  ]);
});
