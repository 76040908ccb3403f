// What istiod needs on one machine, from the rendered default overlay of istio/ (the same objects
// `make validate` checks) and the replicas the runner starts: every Istio object of the overlay
// unchanged, plus what Kubernetes would otherwise give istiod (docs/istio-local.md):
//   - a ServiceEntry per Service (<svc>.<ns>.svc.cluster.local, its ports and protocols);
//   - a WorkloadEntry per replica (its inbound IP 127.0.1.N, the pod's labels, its service account,
//     which makes clients use Istio mTLS to it);
//   - a Sidecar per replica, since there is no iptables: inbound listeners on 127.0.1.N forward to
//     the app's own port on 127.0.0.1, egress listeners on 127.0.2.N, which the app dials;
//   - the ingress gateway's ServiceEntry and WorkloadEntry, and each Gateway with `bind`, so it
//     listens where the local edge does (127.0.0.1:8080) rather than on every address;
//   - reflection and health at the gateway, routed to catalog as nginx routes them locally (catalog
//     reflects every service), which the cluster's manifests do not expose.
// Each replica's environment is its Deployment's (ConfigMap and env), with the cluster's names
// turned into the replica's egress address. Pure: it writes and starts nothing.
import type { Topology } from "@shopmesh/mesh";
import { REFLECTION_PREFIXES, REFLECTION_SERVICE, REPLICA_PORT_STEP, type Instance } from "../routes.js";

/** One rendered Kubernetes object; only the fields read here are typed. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

/** A port a replica's sidecar accepts (inbound), and where its app listens for it. */
export interface IngressPort {
  /** The container port (what the Service targets). */
  port: number;
  name: string;
  protocol: string;
  /** The app's own port on 127.0.0.1. */
  appPort: number;
}

/** One replica behind a sidecar: a shop service or a store. */
export interface Workload {
  /** The proxy's name (and pod name): catalog-0, catalog-v2-0, mongo-0. */
  pod: string;
  /** The process the app is in the local runner: catalog, catalog-2, catalog-v2, ferretdb, redis. */
  app: string;
  /** The topology service it is (catalog for catalog-v2), or undefined for a store. */
  service?: string;
  /** The service replica it runs, with its app ports (the canary's own); undefined for a store. */
  instance?: Instance;
  namespace: string;
  serviceAccount: string;
  labels: Record<string, string>;
  /** Sidecar inbound IP (127.0.1.N) and egress IP (127.0.2.N). */
  ip: string;
  egressIp: string;
  ingress: IngressPort[];
  /** The Deployment's environment, names turned into local addresses; a service's only. */
  env: Record<string, string>;
  /** Variables whose value is a Secret's key, as `<secret>/<key>` (env key → ref); the caller resolves them. */
  secretEnv: Record<string, string>;
  /** Variables naming a file of a mounted Secret, as `<secret>/<file>`; the caller puts the file somewhere and names it. */
  secretFiles: Record<string, string>;
}

/** Where the gateway listens: 127.0.0.1:8080, where nginx listens in local mode. */
export interface GatewayAddress {
  ip: string;
  port: number;
}

/** What `renderIstio` makes. */
export interface IstioRender {
  /** istiod's configuration: Istio objects, one YAML (JSON) document each. */
  config: Manifest[];
  workloads: Workload[];
}

export const GATEWAY_NAMESPACE = "istio-system";
export const GATEWAY_ACCOUNT = "istio-ingressgateway-service-account";
/** Gateway pods carry this label; the overlay's Gateway selects it. */
export const GATEWAY_LABELS = { istio: "ingressgateway" };

const ISTIO_NETWORKING = "networking.istio.io/v1";
const ISTIO_SECURITY = "security.istio.io/v1";

/** Istio's protocol of a Service port, from appProtocol or the name's prefix (as istiod infers it). */
export function protocolOf(p: { name?: string; appProtocol?: string }): string {
  const byName: Record<string, string> = { grpc: "GRPC", http: "HTTP", http2: "HTTP2", "kubernetes.io/h2c": "HTTP2",
    tcp: "TCP", mongo: "MONGO", redis: "REDIS" };
  return byName[(p.appProtocol ?? "").toLowerCase()] ?? byName[(p.name ?? "").split("-")[0]!.toLowerCase()] ?? "TCP";
}

/** The cluster's names (`<svc>.<ns>.svc.cluster.local:<port>`) in a value, turned into the egress IP. */
export function localizeValue(value: string, egressIp: string): string {
  return value.replace(/\b[a-z0-9-]+\.[a-z0-9-]+\.svc\.cluster\.local:(\d+)/g, `${egressIp}:$1`);
}

const matches = (sel: Record<string, string> | undefined, labels: Record<string, string>) =>
  Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);

/** The app's port for a container port: the instance's gRPC or admin port for a service, the store's own port. */
function appPortOf(containerPort: number, spec: { port: number; adminPort: number } | undefined, instance: Instance | undefined,
  storePort: number | undefined): number {
  if (storePort !== undefined) return storePort;
  if (spec && instance && containerPort === spec.port) return instance.port;
  if (spec && instance && containerPort === spec.adminPort) return instance.adminPort;
  throw new Error(`istio: container port ${containerPort} is neither the topology's port nor admin port`);
}

/**
 * Everything istiod needs, and every replica to start. `instances` are the shop services' replicas
 * (routes.ts), which a Deployment's `replicas` does not decide here, as in local mode; a canary
 * Deployment (version other than v1) runs one replica, named `<service>-<version>`.
 */
export function renderIstio(objects: Manifest[], topology: Topology, instances: Instance[], gateway: GatewayAddress): IstioRender {
  const config: Manifest[] = objects.filter((o) => o.apiVersion.includes("istio.io/") && o.kind !== "Gateway");
  const services = objects.filter((o) => o.kind === "Service");
  const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o.data ?? {}]));
  const namespaceOf = (o: Manifest) => o.metadata.namespace ?? "default";

  for (const s of services) {
    const ns = namespaceOf(s);
    config.push({ apiVersion: ISTIO_NETWORKING, kind: "ServiceEntry", metadata: { name: s.metadata.name, namespace: ns },
      spec: { hosts: [`${s.metadata.name}.${ns}.svc.cluster.local`], location: "MESH_INTERNAL", resolution: "STATIC",
        ports: s.spec.ports.map((p: any) => ({ number: p.port, name: p.name, protocol: protocolOf(p),
          targetPort: typeof p.targetPort === "number" ? p.targetPort : p.port })),
        workloadSelector: { labels: s.spec.selector } } });
  }
  const shopNs = topology.namespace;
  // One egress listener per distinct Service port of the namespace: the app dials 127.0.2.N:<port>.
  const egressPorts = new Map<number, { name?: string; appProtocol?: string }>();
  for (const s of services.filter((x) => namespaceOf(x) === shopNs)) {
    for (const p of s.spec.ports) if (!egressPorts.has(p.port)) egressPorts.set(p.port, p);
  }
  const storePorts: Record<string, number> = { mongo: topology.stores.ferretdb.port, redis: topology.stores.redis.port };
  const storeApps: Record<string, string> = { mongo: "ferretdb", redis: "redis" };

  const workloads: Workload[] = [];
  // The next workload's inbound and egress IPs: 127.0.1.N and 127.0.2.N.
  const nextIps = () => ({ ip: `127.0.1.${workloads.length + 1}`, egressIp: `127.0.2.${workloads.length + 1}` });
  for (const d of objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")) {
    const tpl = d.spec.template;
    const labels: Record<string, string> = tpl.metadata.labels ?? {};
    const appLabel = labels.app ?? d.metadata.name;
    const spec = topology.services[appLabel];
    const containers: any[] = tpl.spec.containers;
    const ports: { containerPort: number; name?: string }[] = containers.flatMap((c) => c.ports ?? []);
    const svcPort = (cp: number) => services.filter((s) => matches(s.spec.selector, labels)).flatMap((s) => s.spec.ports)
      .find((p: any) => (typeof p.targetPort === "number" ? p.targetPort : p.port) === cp);
    const canary = labels.version !== undefined && labels.version !== "v1";
    const replicas: (Instance | undefined)[] = !spec
      ? [undefined]
      : canary
        ? [canaryInstance(topology, appLabel, labels.version!)]
        : instances.filter((i) => i.service === appLabel);
    if (!spec && storePorts[appLabel] === undefined) throw new Error(`istio: ${d.kind} ${d.metadata.name} is neither a topology service nor a store`);
    replicas.forEach((instance, k) => {
      const pod = `${d.metadata.name}-${k}`;
      const all = { ...labels, "shopmesh.local/replica": pod };
      const ingress = ports.map((cp) => {
        const sp = svcPort(cp.containerPort);
        return { port: cp.containerPort, name: cp.name ?? `port-${cp.containerPort}`, protocol: sp ? protocolOf(sp) : "TCP",
          appPort: appPortOf(cp.containerPort, spec, instance, storePorts[appLabel]) };
      });
      const ips = nextIps();
      const environment = spec ? environmentOf(containers[0], tpl.spec.volumes ?? [], configMaps, ips.egressIp)
        : { env: {}, secretEnv: {}, secretFiles: {} };
      workloads.push({ ...ips, pod, app: instance?.name ?? storeApps[appLabel]!, service: spec ? appLabel : undefined, instance, namespace: namespaceOf(d),
        serviceAccount: tpl.spec.serviceAccountName ?? "default", labels: all, ingress, ...environment });
    });
  }

  for (const w of workloads) {
    config.push({ apiVersion: ISTIO_NETWORKING, kind: "WorkloadEntry", metadata: { name: w.pod, namespace: w.namespace, labels: w.labels },
      spec: { address: w.ip, labels: w.labels, serviceAccount: w.serviceAccount } });
    config.push({ apiVersion: ISTIO_NETWORKING, kind: "Sidecar", metadata: { name: w.pod, namespace: w.namespace },
      spec: { workloadSelector: { labels: { "shopmesh.local/replica": w.pod } },
        ingress: w.ingress.map((p) => ({ port: { number: p.port, protocol: p.protocol, name: p.name }, bind: w.ip,
          defaultEndpoint: `127.0.0.1:${p.appPort}` })),
        egress: [...egressPorts].map(([port, p]) => ({ port: { number: port, protocol: protocolOf(p), name: `egress-${port}` },
          bind: w.egressIp, hosts: ["./*"] })) } });
  }
  config.push(...reflectionConfig(shopNs, objects));
  config.push(...gatewayConfig(objects, gateway));
  return { config, workloads };
}

/** The canary Deployment's one replica, on ports above the service's three replicas at most. */
function canaryInstance(topology: Topology, service: string, version: string): Instance {
  const spec = topology.services[service]!;
  const offset = 3 * REPLICA_PORT_STEP;
  return { name: `${service}-${version}`, service, port: spec.port + offset, adminPort: spec.adminPort + offset };
}

/** A container's environment: the ConfigMaps it imports, then its own env; names localized, Secrets by reference. */
function environmentOf(container: any, volumes: any[], configMaps: Map<string, Record<string, string>>, egressIp: string) {
  const env: Record<string, string> = {};
  const secretEnv: Record<string, string> = {};
  const secretFiles: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const data = configMaps.get(from.configMapRef?.name);
    if (!data) throw new Error(`istio: container ${container.name} imports ConfigMap ${from.configMapRef?.name}, which the overlay lacks`);
    for (const [k, v] of Object.entries(data)) env[k] = localizeValue(v, egressIp);
  }
  // Where the container mounts each Secret volume, so a variable naming a file in one is known.
  const secretMounts = (container.volumeMounts ?? []).flatMap((m: any) => {
    const secret = volumes.find((v) => v.name === m.name)?.secret?.secretName;
    return secret ? [{ path: String(m.mountPath).replace(/\/$/, ""), secret }] : [];
  });
  for (const e of container.env ?? []) {
    if (typeof e.value === "string") {
      const mount = secretMounts.find((m: { path: string }) => e.value.startsWith(`${m.path}/`));
      if (mount) secretFiles[e.name] = `${mount.secret}/${e.value.slice(mount.path.length + 1)}`;
      else env[e.name] = localizeValue(e.value, egressIp);
    } else if (e.valueFrom?.secretKeyRef) {
      secretEnv[e.name] = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
    } else {
      throw new Error(`istio: ${container.name}'s ${e.name} comes from something other than a value or a Secret`);
    }
  }
  return { env, secretEnv, secretFiles };
}

/** Reflection and health at the gateway: routed to catalog, which the gateway may call for them only. */
function reflectionConfig(ns: string, objects: Manifest[]): Manifest[] {
  const service = objects.find((o) => o.kind === "Service" && o.metadata.name === REFLECTION_SERVICE && (o.metadata.namespace ?? "default") === ns);
  const port = service?.spec?.ports?.find((p: { name?: string; appProtocol?: string }) => protocolOf(p) === "GRPC")?.port;
  if (typeof port !== "number") throw new Error(`istio: the overlay has no gRPC port on Service ${REFLECTION_SERVICE} in ${ns}`);
  const host = `${REFLECTION_SERVICE}.${ns}.svc.cluster.local`;
  const gateways = objects.filter((o) => o.kind === "Gateway").map((g) => g.metadata.name);
  const paths = ["/grpc.reflection.v1.ServerReflection/*", "/grpc.reflection.v1alpha.ServerReflection/*", "/grpc.health.v1.Health/*"];
  return [
    // Catalog's own policy lets only the shop's workloads reach these paths; this adds the gateway.
    { apiVersion: ISTIO_SECURITY, kind: "AuthorizationPolicy", metadata: { name: "edge-reflection", namespace: ns },
      spec: { selector: { matchLabels: { app: REFLECTION_SERVICE } }, action: "ALLOW",
        rules: [{ from: [{ source: { principals: [`cluster.local/ns/${GATEWAY_NAMESPACE}/sa/${GATEWAY_ACCOUNT}`] } }],
          to: [{ operation: { paths } }] }] } },
    // As nginx does locally: reflection of every service, and health.
    { apiVersion: ISTIO_NETWORKING, kind: "VirtualService", metadata: { name: "edge-reflection", namespace: ns },
      spec: { hosts: ["*"], gateways, http: [{ name: "reflection-and-health",
        match: REFLECTION_PREFIXES.map((prefix) => ({ uri: { prefix } })),
        route: [{ destination: { host, port: { number: port } } }] }] } },
  ];
}

/** The ingress gateway as a workload (what `istioctl install` gives a cluster), and each Gateway bound to its address. */
function gatewayConfig(objects: Manifest[], gateway: GatewayAddress): Manifest[] {
  return [
    // istiod maps a Gateway server's port 80 to the targetPort of the gateway's Service, as in a cluster.
    { apiVersion: ISTIO_NETWORKING, kind: "ServiceEntry", metadata: { name: "istio-ingressgateway", namespace: GATEWAY_NAMESPACE },
      spec: { hosts: [`istio-ingressgateway.${GATEWAY_NAMESPACE}.svc.cluster.local`], location: "MESH_INTERNAL", resolution: "STATIC",
        ports: [{ number: 80, name: "http2", protocol: "HTTP2", targetPort: gateway.port }], workloadSelector: { labels: GATEWAY_LABELS } } },
    { apiVersion: ISTIO_NETWORKING, kind: "WorkloadEntry", metadata: { name: "istio-ingressgateway-0", namespace: GATEWAY_NAMESPACE, labels: GATEWAY_LABELS },
      spec: { address: gateway.ip, labels: GATEWAY_LABELS, serviceAccount: GATEWAY_ACCOUNT } },
    ...objects.filter((o) => o.kind === "Gateway").map((g) => ({
      ...g, spec: { ...g.spec, servers: g.spec.servers.map((s: object) => ({ ...s, bind: gateway.ip })) } })),
  ];
}
