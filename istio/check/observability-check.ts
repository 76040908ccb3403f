// Checks the observability component (istio/components/observability) against the topology and
// the local mesh's own generators: Prometheus gets the generated config and rules, scrapes every
// service's pods, and stays outside the mesh; the services export to the Collector; the Collector
// exports to Zipkin; and only the shop's services may send spans, only the Collector may write them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Topology } from "@shopmesh/mesh";
import { observabilityFiles } from "../../runner/src/observe/k8s-files.js";
import { describe, type Manifest, repoRoot } from "./render.js";
import { principalOf } from "./topology.js";

interface Pod {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { volumes?: { name: string; configMap?: { name: string } }[] };
}
interface Port { name?: string; port: number }
interface Rule { from?: { source: { principals?: string[] } }[]; to?: { operation: { ports?: string[]; paths?: string[] } }[] }

const pod = (d: Manifest): Pod => (d.spec as { template: Pod }).template;
const sorted = (xs: Iterable<string>): string => [...xs].sort().join(", ");

/** The committed generated files that differ from what the generators give now. */
export function staleGenerated(topo: Topology, read = (p: string) => readFileSync(join(repoRoot, p), "utf8")): string[] {
  return Object.entries(observabilityFiles(topo)).filter(([path, text]) => read(path) !== text)
    .map(([path]) => `${path} is stale: run node runner/dist/cli.js render-observability`);
}

/** Lists every observability problem of a rendered overlay that includes the component. */
export function checkObservability(ms: Manifest[], topo: Topology): string[] {
  const problems: string[] = [];
  const find = (kind: string, name: string) => ms.find((m) => m.kind === kind && m.metadata.name === name);
  const need = (kind: string, name: string): Manifest | undefined => {
    const m = find(kind, name);
    if (!m) problems.push(`no ${kind} ${name}`);
    return m;
  };
  const servicePort = (name: string, port: number): void => {
    const svc = need("Service", name);
    if (svc && !((svc.spec as { ports?: Port[] }).ports ?? []).some((p) => p.port === port && p.name?.startsWith("http-"))) {
      problems.push(`${describe(svc)}: no http-* port ${port}`);
    }
  };

  // Prometheus: the generated files, mounted, outside the mesh, allowed to list pods in the namespace only.
  const generated = observabilityFiles(topo);
  const prom = need("Deployment", "prometheus");
  const promConfig = ms.find((m) => m.kind === "ConfigMap" && m.metadata.name.startsWith("prometheus-config"));
  if (!promConfig) problems.push("no ConfigMap prometheus-config");
  else {
    for (const [path, text] of Object.entries(generated)) {
      const key = path.split("/").at(-1)!;
      if (promConfig.data?.[key] !== text) problems.push(`${describe(promConfig)}: ${key} is not the generated one`);
    }
  }
  if (prom) {
    const p = pod(prom);
    if (p.metadata?.annotations?.["sidecar.istio.io/inject"] !== "false") problems.push(`${describe(prom)}: must run without a sidecar (it scrapes port 15020 in plaintext)`);
    if (promConfig && !(p.spec.volumes ?? []).some((v) => v.configMap?.name === promConfig.metadata.name)) {
      problems.push(`${describe(prom)}: does not mount ${promConfig.metadata.name}`);
    }
  }
  if (ms.some((m) => m.kind === "ClusterRole" || m.kind === "ClusterRoleBinding")) problems.push("Prometheus needs no cluster-wide role: pods in its namespace only");
  const role = need("Role", "prometheus");
  if (role && JSON.stringify((role as unknown as { rules: unknown }).rules) !== JSON.stringify([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }])) {
    problems.push(`${describe(role)}: must grant get, list and watch on pods, and nothing else`);
  }
  // Every service's pods ask to be scraped on their admin port, where /metrics is.
  for (const [name, svc] of Object.entries(topo.services)) {
    for (const d of ms.filter((m) => m.kind === "Deployment" && pod(m).metadata?.labels?.app === name)) {
      const a = pod(d).metadata?.annotations ?? {};
      if (a["prometheus.io/scrape"] !== "true" || a["prometheus.io/port"] !== String(svc.adminPort) || a["prometheus.io/path"] !== "/metrics") {
        problems.push(`${describe(d)}: needs prometheus.io/scrape "true", port ${svc.adminPort} and path /metrics`);
      }
    }
  }

  // Spans: services → Collector (OTLP/HTTP 4318) → Zipkin (9411).
  servicePort("otel-collector", 4318);
  servicePort("zipkin", 9411);
  const shop = ms.find((m) => m.kind === "ConfigMap" && m.metadata.name.startsWith("shop-config"));
  const endpoint = shop?.data?.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint !== `http://otel-collector.${topo.namespace}.svc.cluster.local:4318`) {
    problems.push(`shop-config: OTEL_EXPORTER_OTLP_ENDPOINT is ${JSON.stringify(endpoint)}, not the Collector's OTLP/HTTP port`);
  }
  const collectorConfig = ms.find((m) => m.kind === "ConfigMap" && m.metadata.name.startsWith("otel-collector-config"))?.data?.["otelcol.yaml"] ?? "";
  if (!collectorConfig.includes(`endpoint: http://zipkin.${topo.namespace}.svc.cluster.local:9411/api/v2/spans`)) {
    problems.push("otel-collector-config: the zipkin exporter does not point at the zipkin Service");
  }

  // Who may send and write spans, under deny-all.
  const allowed = (name: string, callers: string[], port: string, path: string): void => {
    const policy = need("AuthorizationPolicy", name);
    if (!policy) return;
    const want = callers.map((c) => principalOf(c, topo.namespace));
    const rules = (policy.spec as { rules?: Rule[] }).rules ?? [];
    const got = rules.flatMap((r) => (r.from ?? [{ source: {} }]).flatMap((f) => f.source.principals ?? ["*"]));
    if (sorted(got) !== sorted(want)) problems.push(`${describe(policy)}: allows [${sorted(got)}], should allow [${sorted(want)}]`);
    for (const [i, r] of rules.entries()) {
      const ops = r.to?.map((t) => t.operation) ?? [];
      if (ops.length === 0 || !ops.every((o) => o.ports?.join() === port && o.paths?.join() === path)) {
        problems.push(`${describe(policy)} rules[${i}]: must be limited to port ${port}, path ${path}`);
      }
    }
  };
  allowed("otel-collector", Object.keys(topo.services), "4318", "/v1/traces");
  allowed("zipkin", ["otel-collector"], "9411", "/api/v2/spans");
  return problems;
}
