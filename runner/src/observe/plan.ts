// `make up OBSERVE=1` (issue 18; docs/architecture.md, "Metrics and logs"): Zipkin on
// 127.0.0.1:9411, Prometheus on 127.0.0.1:9190 scraping every replica, and the mesh dashboard on
// 127.0.0.1:3000, started before the services, which then export their spans straight to Zipkin
// (the standard OTEL_* variables, mesh/src/tracing.ts). The services work the same without them:
// an exporter that cannot reach Zipkin drops its batches, and nothing else depends on these.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Topology } from "@shopmesh/mesh";
import { dataDir, repo, run } from "../paths.js";
import type { Instance } from "../routes.js";
import type { Plan, Proc } from "../supervisor.js";
import { prometheusConfig } from "./prometheus.js";

/** Their fixed local ports (the issue's). */
export const OBSERVE_PORTS = { zipkin: 9411, prometheus: 9190, dashboard: 3000 };
/** prometheus.yml and its rules, written by each `up`. */
export const observeDir = join(run, "observe");

/** On when OBSERVE=1 asks for it, or when an earlier `up OBSERVE=1` recorded its processes (a restart keeps them). */
export function observeOn(env: NodeJS.ProcessEnv, state: Pick<Proc, "kind">[]): boolean {
  if (env.OBSERVE !== undefined && env.OBSERVE !== "" && env.OBSERVE !== "0" && env.OBSERVE !== "1") {
    throw new Error(`OBSERVE=${env.OBSERVE}: must be 1 (or unset)`);
  }
  return env.OBSERVE === "1" || state.some((p) => p.kind === "observe");
}

/** What every service gets: spans to Zipkin, every call sampled (a local tool: all of them, to look at). */
export function otelEnv(): Record<string, string> {
  return { OTEL_TRACES_EXPORTER: "zipkin", OTEL_EXPORTER_ZIPKIN_ENDPOINT: `http://127.0.0.1:${OBSERVE_PORTS.zipkin}/api/v2/spans` };
}

/** Writes Prometheus's config for these replicas, every `up` (a restart may change them). */
export function writePrometheusFiles(topology: Topology, instances: Instance[]): string {
  const files = prometheusConfig(topology, instances.map((i) => ({ name: i.name, service: i.service, adminPort: i.adminPort })));
  mkdirSync(observeDir, { recursive: true });
  writeFileSync(join(observeDir, "prometheus.yml"), files.config);
  writeFileSync(join(observeDir, "shopmesh-rules.yml"), files.rules);
  return join(observeDir, "prometheus.yml");
}

/** Zipkin, Prometheus and the dashboard, each probed over HTTP. */
export function observePlans(): Plan[] {
  const { zipkin, prometheus, dashboard } = OBSERVE_PORTS;
  return [
    { name: "zipkin", kind: "observe", port: zipkin,
      // A small heap and the JIT's quick tier: about 220 MB, healthy in 5–9 s (docs/architecture.md).
      // Bound to loopback (Armeria's port settings; QUERY_PORT alone listens on every interface).
      command: ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", join(repo, ".bin", "zipkin.jar"),
        "--armeria.ports[0].ip=127.0.0.1", `--armeria.ports[0].port=${zipkin}`, "--armeria.ports[0].protocols=http"],
      env: { QUERY_PORT: String(zipkin) }, probe: { http: `http://127.0.0.1:${zipkin}/health` } },
    { name: "prometheus", kind: "observe", port: prometheus,
      command: ["prometheus", `--config.file=${join(observeDir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dataDir, "prometheus")}`,
        "--storage.tsdb.retention.time=1d", `--web.listen-address=127.0.0.1:${prometheus}`],
      probe: { http: `http://127.0.0.1:${prometheus}/-/ready` } },
    { name: "dashboard", kind: "observe", port: dashboard,
      command: [process.execPath, join(repo, "runner", "dist", "observe", "dashboard-main.js")],
      env: { DASHBOARD_PORT: String(dashboard), PROMETHEUS_URL: `http://127.0.0.1:${prometheus}`, ZIPKIN_URL: `http://127.0.0.1:${zipkin}` },
      probe: { http: `http://127.0.0.1:${dashboard}/` } },
  ];
}
