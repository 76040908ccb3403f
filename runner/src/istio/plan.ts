// What `make up MESH=istio` runs, in start order: istiod, the two stores (as in local mode), a
// pilot-agent (and its Envoy) per replica, each service in MESH_MODE=istio behind its sidecar, and
// the ingress gateway on the edge's address. Every flag and variable is explained
// in docs/istio-local.md. Pure: it starts nothing (up-istio.ts does).
import { join } from "node:path";
import type { Topology } from "@shopmesh/mesh";
import { repo, run, topologyFile } from "../paths.js";
import { plan as localPlan, servicePlan } from "../plan.js";
import type { Instance } from "../routes.js";
import type { Plan } from "../supervisor.js";
import { GATEWAY_ACCOUNT, GATEWAY_LABELS, GATEWAY_NAMESPACE, type GatewayAddress, type Workload } from "./render.js";

/** Where istio mode keeps its files: istiod's config dir, the mesh config, a directory per proxy, its CA, the Secrets. */
export const istioDir = join(run, "istio");
export const istioConfigDir = join(istioDir, "config");
export const meshConfigFile = join(istioDir, "mesh.yaml");
export const proxiesDir = join(istioDir, "proxies");
export const istioCertDir = join(istioDir, "certs");
export const secretsDir = join(istioDir, "secrets");

/** istiod-local's plaintext xDS and its HTTP port (/ready, /metrics, /debug). */
export const ISTIOD = { grpc: 15010, http: 15014 };
/** A proxy's ports, from its index: admin +0, agent status +100, Envoy health +200, Prometheus +300. */
export const PROXY_PORT_BASE = 16000;
/** The gateway's proxy index (above any sidecar's). */
export const GATEWAY_INDEX = 99;
/** Istio's trust domain: the SPIFFE ids the sidecars' certificates carry (istio/base/config.yaml). */
export const ISTIO_TRUST_DOMAIN = "cluster.local";

const bin = (name: string) => join(repo, ".bin", name);

/** The ports of the proxy with index `i`. */
export function proxyPorts(i: number) {
  return { admin: PROXY_PORT_BASE + i, status: PROXY_PORT_BASE + 100 + i, envoyHealth: PROXY_PORT_BASE + 200 + i,
    prometheus: PROXY_PORT_BASE + 300 + i };
}

/** The mesh config istiod reads: Istio mTLS between workloads, and no name outside the registry. */
export function meshConfigYaml(): string {
  // No defaultProviders: a Prometheus provider would make istiod add istio.stats, which upstream
  // Envoy lacks. REGISTRY_ONLY: a name the mesh does not know gets UNAVAILABLE, not the
  // PassthroughCluster, which has nowhere to go without iptables' original destination.
  return [`trustDomain: ${ISTIO_TRUST_DOMAIN}`, `rootNamespace: ${GATEWAY_NAMESPACE}`, "enableAutoMtls: true",
    "outboundTrafficPolicy: {mode: REGISTRY_ONLY}", "defaultConfig:", `  discoveryAddress: 127.0.0.1:${ISTIOD.grpc}`,
    "  controlPlaneAuthPolicy: NONE", ""].join("\n");
}

interface ProxySpec {
  /** The process name: `<app>-sidecar`, or `gateway`. */
  name: string;
  pod: string;
  index: number;
  type: "sidecar" | "router";
  ip: string;
  namespace: string;
  serviceAccount: string;
  labels: Record<string, string>;
}

function proxyPlan(p: ProxySpec): Plan {
  const ports = proxyPorts(p.index);
  const proxyConfig = {
    discoveryAddress: `127.0.0.1:${ISTIOD.grpc}`, controlPlaneAuthPolicy: "NONE", binaryPath: bin("envoy"),
    proxyAdminPort: ports.admin, statusPort: ports.status, concurrency: 1,
    proxyBootstrapTemplatePath: bin("istio/envoy_bootstrap_tmpl.json"),
    proxyMetadata: { METRICS_LOCALHOST_ACCESS_ONLY: "true" },
    // Istio keeps only a few stat prefixes by default; the proofs of issue 16 read ssl, rbac, retries, outliers.
    proxyStatsMatcher: { inclusionRegexps: [".*"] },
  };
  return {
    name: p.name, kind: p.type === "router" ? "edge" : "proxy", port: ports.admin, adminPort: ports.status,
    command: [bin("pilot-agent"), "proxy", p.type, "--proxyLogLevel=warning"],
    cwd: join(proxiesDir, p.pod),
    probe: { http: `http://127.0.0.1:${ports.status}/healthz/ready` },
    env: {
      PROXY_CONFIG: JSON.stringify(proxyConfig), INSTANCE_IP: p.ip, POD_NAME: p.pod, POD_NAMESPACE: p.namespace,
      SERVICE_ACCOUNT: p.serviceAccount, TRUST_DOMAIN: ISTIO_TRUST_DOMAIN, ISTIO_METAJSON_LABELS: JSON.stringify(p.labels),
      ISTIO_META_WORKLOAD_NAME: p.pod.replace(/-\d+$/, ""), ISTIO_META_CLUSTER_ID: "Kubernetes",
      // No iptables: istiod builds only the Sidecar's bound listeners.
      ISTIO_META_INTERCEPTION_MODE: "NONE", CLOUD_PLATFORM: "none", FILE_MOUNTED_CERTS: "true",
      ENVOY_STATUS_PORT: String(ports.envoyHealth), ENVOY_PROMETHEUS_PORT: String(ports.prometheus),
    },
  };
}

/**
 * A local-mode environment without what means nothing behind a sidecar: the dev certificates and
 * the upstreams' local addresses (the Deployment names each upstream, localized to the egress IP).
 */
function behindSidecar(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k !== "MESH_CERT_DIR" && !/_(ADDR|TLS_NAME)$/.test(k)));
}

/** The sidecar process of a workload. */
export function sidecarName(w: Pick<Workload, "app">): string {
  return `${w.app}-sidecar`;
}

/**
 * Every process of istio mode, in start order. `secrets` resolves the workloads' Secret
 * references (`<secret>/<key>` to a value, `<secret>/<file>` to a path).
 */
export function istioPlan(topology: Topology, instances: Instance[], workloads: Workload[], gateway: GatewayAddress,
  secrets: { value(ref: string): string; file(ref: string): string }): Plan[] {
  const local = localPlan(topology, instances);
  const stores = local.filter((p) => p.kind === "store");
  const istiod: Plan = {
    name: "istiod", kind: "control", port: ISTIOD.grpc, adminPort: ISTIOD.http,
    command: [bin("istiod-local"), "-configDir", istioConfigDir, "-meshConfig", meshConfigFile,
      "-grpcAddr", `127.0.0.1:${ISTIOD.grpc}`, "-httpAddr", `127.0.0.1:${ISTIOD.http}`],
    // The two istio.* filters upstream Envoy lacks stay off; each Envoy fetches the JWKS itself,
    // through the mesh (auth's cluster name resolves nowhere here, so istiod could not).
    env: { PILOT_ENABLE_ALPN_FILTER: "false", PILOT_ENABLE_METADATA_EXCHANGE: "false", PILOT_JWT_ENABLE_REMOTE_JWKS: "envoy" },
    probe: { http: `http://127.0.0.1:${ISTIOD.http}/ready` },
  };
  const proxies = workloads.map((w, i) => proxyPlan({ name: sidecarName(w), pod: w.pod, index: i + 1, type: "sidecar", ip: w.ip,
    namespace: w.namespace, serviceAccount: w.serviceAccount, labels: w.labels }));
  const apps: Plan[] = [];
  for (const w of workloads) {
    const instance = w.instance;
    if (!w.service || !instance) continue; // a store: the same process as in local mode, behind its sidecar
    const base = servicePlan(topology, instance, instances);
    const env = { ...behindSidecar(base.env!), ...w.env };
    for (const [k, ref] of Object.entries(w.secretEnv)) env[k] = secrets.value(ref);
    for (const [k, ref] of Object.entries(w.secretFiles)) env[k] = secrets.file(ref);
    Object.assign(env, {
      // The app listens on its own loopback port, which the sidecar's inbound forwards to.
      HOST: "127.0.0.1", PORT: String(instance.port), ADMIN_PORT: String(instance.adminPort),
      MESH_SERVICE_NAME: w.service, MESH_INSTANCE: w.app, MESH_TOPOLOGY: topologyFile,
      // Node's fetch sends the URL's host as Host, so a JWKS fetch through the egress listener
      // (which routes by name) finds no route; the app reads auth's JWKS where local mode does.
      // The sidecars' jwt_authn fetches the same keys through the mesh.
      JWKS_URL: base.env!.JWKS_URL!,
    });
    apps.push({ ...base, name: w.app, port: instance.port, adminPort: instance.adminPort, env, probe: { grpc: "plaintext" } });
  }
  const gatewayProxy = proxyPlan({ name: "gateway", pod: "istio-ingressgateway-0", index: GATEWAY_INDEX, type: "router",
    ip: gateway.ip, namespace: GATEWAY_NAMESPACE, serviceAccount: GATEWAY_ACCOUNT, labels: GATEWAY_LABELS });
  // Probed as the local edge is: grpc.health.v1 Check through its port (routed to catalog).
  const edge: Plan = { ...gatewayProxy, port: gateway.port, adminPort: proxyPorts(GATEWAY_INDEX).status, probe: { grpc: "plaintext" } };
  return [istiod, ...stores, ...proxies, ...apps, edge];
}
