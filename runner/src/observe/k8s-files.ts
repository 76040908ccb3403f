// The generated files of istio/components/observability (docs/kubernetes.md, "Observability"):
// Prometheus's config and recording rules for a cluster, from mesh/topology.json.
// `node runner/dist/cli.js render-observability` writes them; istio/check fails when the committed
// ones differ from these.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Topology } from "@shopmesh/mesh";
import { repo } from "../paths.js";
import { kubernetesPrometheusConfig, recordingRules } from "./prometheus.js";

/** Where the component lives, from the repo root. */
export const observabilityComponent = join("istio", "components", "observability");

/** Each generated file's path under the repo root, and its text. */
export function observabilityFiles(topology: Topology): Record<string, string> {
  return {
    [join(observabilityComponent, "prometheus.yml")]: kubernetesPrometheusConfig(topology),
    [join(observabilityComponent, "shopmesh-rules.yml")]: recordingRules(),
  };
}

/** Writes them, and names each. */
export function writeObservabilityFiles(topology: Topology): string[] {
  return Object.entries(observabilityFiles(topology)).map(([path, text]) => {
    writeFileSync(join(repo, path), text);
    return path;
  });
}
