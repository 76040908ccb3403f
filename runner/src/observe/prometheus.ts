// The Prometheus configuration of the local mesh (issue 18; docs/architecture.md, "Metrics and
// logs"): a scrape job over every running replica's admin port, and recording rules with the RED
// figures (rate, error ratio, p99 duration) per service and method, per service, and per
// caller→callee edge. Pure: it returns file text and writes nothing; the caller writes the two
// files side by side and starts Prometheus on them.
import type { Topology } from "@shopmesh/mesh";

/** A running replica, as runner/src/routes.ts's Instance has it. */
export interface ScrapeTarget {
  /** "catalog", or "catalog-2" for a second replica: the instance label. */
  name: string;
  /** Its topology service: the service label. */
  service: string;
  /** /metrics is served on 127.0.0.1:<adminPort>. */
  adminPort: number;
}

/** The two files. */
export interface PrometheusFiles {
  /** prometheus.yml. */
  config: string;
  /** The recording rules, which the config loads as `rulesFile`. */
  rules: string;
}

/** How often every target is scraped and the rules evaluated. */
export const SCRAPE_INTERVAL = "5s";
/** The rate window: six scrapes, so a figure moves within seconds of the load and is not one sample's noise. */
export const RATE_WINDOW = "30s";

// Server faults, the codes OpenTelemetry's gRPC conventions call a server's error (the same set as
// the server spans': mesh/src/tracing.ts). A NotFound or InvalidArgument is the caller's business.
// The TypeScript services label codes as grpc-js names them (DeadlineExceeded), the Python one as
// grpcio does (DEADLINE_EXCEEDED), so both spellings match.
const faults = ["Unknown", "DeadlineExceeded", "Unimplemented", "Internal", "Unavailable", "DataLoss"];
const faultRegex = faults.flatMap((c) => [c, c.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase()]).join("|");

/** A YAML scalar: JSON's double-quoted strings are valid YAML, and need no escaping rules of our own. */
const q = (s: string): string => JSON.stringify(s);

/** The regex that matches `s` literally (Prometheus regexes are RE2, anchored). */
const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * prometheus.yml and its rules for `targets`, from the topology. The client metrics
 * (grpc_client_*, mesh/src/client-metrics.ts) name the callee only by its gRPC service, so the
 * scrape relabels them with `callee`, the topology service that hosts it; the caller is the
 * scraped replica's own `service` label.
 */
export function prometheusConfig(topology: Topology, targets: ScrapeTarget[], rulesFile = "shopmesh-rules.yml"): PrometheusFiles {
  for (const t of targets) {
    if (topology.services[t.service] === undefined) throw new Error(`prometheus: ${t.name}'s service ${t.service} is not in the topology`);
  }
  const job = [
    "  - job_name: shopmesh",
    "    metrics_path: /metrics",
    "    static_configs:",
    ...targets.flatMap((t) => [
      `      - targets: [${q(`127.0.0.1:${t.adminPort}`)}]`,
      `        labels: { service: ${q(t.service)}, instance: ${q(t.name)} }`,
    ]),
  ];
  return { config: configText("runner/src/observe/prometheus.ts from mesh/topology.json and the running replicas", topology, rulesFile, job), rules: recordingRules() };
}

/**
 * The same scrape in a cluster (istio/components/observability): Kubernetes pod discovery in the
 * topology's namespace, kept to the pods of topology services that ask to be scraped
 * (prometheus.io/scrape). Their prometheus.io/port and path annotations say where; Istio's metrics
 * merging rewrites them to the sidecar agent's plaintext port 15020, which serves the app's
 * /metrics and Envoy's together, so a Prometheus without a sidecar can scrape under STRICT mTLS.
 * The labels are the local ones: `service` from the pod's app label, `instance` its pod name.
 */
export function kubernetesPrometheusConfig(topology: Topology, rulesFile = "/etc/prometheus/shopmesh-rules.yml"): string {
  const services = Object.keys(topology.services).map(literal).join("|");
  const relabel = (from: string[], to: string, extra: string[] = []) => [
    `      - source_labels: [${from.join(", ")}]`, ...extra, `        target_label: ${to}`];
  const job = [
    "  - job_name: shopmesh",
    "    kubernetes_sd_configs:",
    "      - role: pod",
    `        namespaces: { names: [${q(topology.namespace)}] }`,
    "    relabel_configs:",
    "      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]",
    `        regex: "true"`,
    "        action: keep",
    "      - source_labels: [__meta_kubernetes_pod_label_app]",
    `        regex: ${q(`(${services})`)}`,
    "        action: keep",
    ...relabel(["__meta_kubernetes_pod_annotation_prometheus_io_path"], "__metrics_path__", [`        regex: "(.+)"`]),
    ...relabel(["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"], "__address__",
      [`        regex: ${q("([^:]+)(?::\\d+)?;(\\d+)")}`, `        replacement: "$1:$2"`]),
    ...relabel(["__meta_kubernetes_pod_label_app"], "service"),
    ...relabel(["__meta_kubernetes_pod_name"], "instance"),
    ...relabel(["__meta_kubernetes_pod_label_version"], "version"),
  ];
  return configText("runner/src/observe/prometheus.ts (kubernetesPrometheusConfig) from mesh/topology.json", topology, rulesFile, job);
}

/** prometheus.yml around one scrape job: the intervals, the rules and the callee relabelling. */
function configText(source: string, topology: Topology, rulesFile: string, job: string[]): string {
  const lines = [
    `# Generated by ${source}.`,
    "global:",
    `  scrape_interval: ${SCRAPE_INTERVAL}`,
    `  evaluation_interval: ${SCRAPE_INTERVAL}`,
    "rule_files:",
    `  - ${q(rulesFile)}`,
    "scrape_configs:",
    ...job,
    "    metric_relabel_configs:",
    ...Object.entries(topology.services).flatMap(([name, spec]) => spec.grpcServices.flatMap((grpcService) => [
      "      - source_labels: [__name__, grpc_service]",
      `        regex: ${q(`grpc_client_.+;${literal(grpcService)}`)}`,
      "        target_label: callee",
      `        replacement: ${q(name)}`,
    ])),
  ];
  return lines.join("\n") + "\n";
}

/** One level of RED figures: the labels it keeps and the metrics it reads. */
interface Level {
  name: string;
  by: string[];
  side: "server" | "client";
}

const levels: Level[] = [
  { name: "service_method", by: ["service", "grpc_service", "grpc_method"], side: "server" },
  { name: "service", by: ["service"], side: "server" },
  { name: "edge", by: ["caller", "callee"], side: "client" },
];

/**
 * The rules, named level:metric:operation as Prometheus's naming guide has them, e.g.
 * service_method:grpc_server_requests:rate30s{service,grpc_service,grpc_method},
 * edge:grpc_client_errors:ratio_rate30s{caller,callee}. An error ratio has no value while its
 * level had no calls (no division by zero).
 */
export function recordingRules(): string {
  const lines = ["# Generated by runner/src/observe/prometheus.ts: RED figures of the mesh.", "groups:", "  - name: shopmesh-red", "    rules:"];
  for (const level of levels) {
    const m = `grpc_${level.side}`;
    const by = level.by.join(", ");
    // A client series is the caller's: its `service` label, renamed; only calls to a topology service.
    const series = (metric: string, match = "") => level.side === "client"
      ? `label_replace(rate(${metric}{callee!=""${match ? `, ${match}` : ""}}[${RATE_WINDOW}]), "caller", "$1", "service", "(.*)")`
      : `rate(${metric}${match ? `{${match}}` : ""}[${RATE_WINDOW}])`;
    const total = `sum by (${by}) (${series(`${m}_handled_total`)})`;
    const errors = `sum by (${by}) (${series(`${m}_handled_total`, `grpc_code=~${q(faultRegex)}`)})`;
    const rules: [string, string][] = [
      [`${level.name}:${m}_requests:rate${RATE_WINDOW}`, total],
      // Every call's code is counted, so errors / total is the share of calls that failed.
      [`${level.name}:${m}_errors:ratio_rate${RATE_WINDOW}`, `(${errors} or ${total} * 0) / (${total} > 0)`],
      [`${level.name}:${m}_duration_seconds:p99_rate${RATE_WINDOW}`,
        `histogram_quantile(0.99, sum by (${by}, le) (${series(`${m}_handling_seconds_bucket`)}))`],
    ];
    for (const [record, expr] of rules) lines.push(`      - record: ${record}`, `        expr: ${q(expr)}`);
  }
  return lines.join("\n") + "\n";
}
