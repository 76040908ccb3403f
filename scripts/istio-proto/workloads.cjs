// Prototype (docs/istio-local.md): the one-machine service discovery for a rendered overlay of istio/.
// Reads the rendered objects as JSON (kustomize build | .bin/yaml2json) on stdin and prints, as one
// YAML stream of JSON documents, every Istio object of the overlay unchanged (but Gateways, below),
// followed by what Kubernetes would otherwise provide to istiod:
//   - a ServiceEntry per Service (hosts <svc>.<ns>.svc.cluster.local, its ports and targetPorts,
//     selecting the Service's pods by labels), MESH_INTERNAL and STATIC;
//   - a WorkloadEntry per replica of every Deployment and StatefulSet: address 127.0.1.N, the pod
//     template's labels plus shopmesh.local/replica=<name>-<k>, and the serviceAccount (auto mTLS);
//   - a Sidecar per replica (selected by that replica label): an ingress listener per container port
//     bound to 127.0.1.N forwarding to the app on 127.0.0.1:<appPort>, and egress listeners bound to
//     127.0.2.N on every Service port of the namespace (no iptables: the app dials its egress IP);
//   - the ingress gateway's ServiceEntry and WorkloadEntry (istio-system, label istio=ingressgateway,
//     port 80 -> targetPort GATEWAY_PORT), and each Gateway of the overlay again with `bind:
//     GATEWAY_IP` on every server (a gateway binds 0.0.0.0 otherwise).
// And on stderr, one line per replica: "name index ip egressIp appPort,... serviceAccount namespace
// labelsJSON" for the script that starts the sidecars.
//
//   node scripts/istio-proto/workloads.cjs [GATEWAY_IP GATEWAY_PORT APP_PORT_BASE] < objects.json
"use strict";

const [gatewayIp = "127.0.0.1", gatewayPort = "8080", appBase = "21000"] = process.argv.slice(2);
const objects = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
const out = [];
const lines = [];

const protocolOf = (p) => {
  const a = (p.appProtocol ?? "").toLowerCase();
  const byName = (p.name ?? "").split("-")[0].toLowerCase();
  const m = { grpc: "GRPC", http: "HTTP", http2: "HTTP2", "kubernetes.io/h2c": "HTTP2", tcp: "TCP", mongo: "MONGO", redis: "REDIS" };
  return m[a] ?? m[byName] ?? "TCP";
};
const matches = (sel, labels) => Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);

for (const o of objects) if (o.apiVersion.includes("istio.io/") && o.kind !== "Gateway") out.push(o);

const services = objects.filter((o) => o.kind === "Service");
const workloads = objects.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");

for (const s of services) {
  const ns = s.metadata.namespace ?? "default";
  out.push({ apiVersion: "networking.istio.io/v1", kind: "ServiceEntry", metadata: { name: s.metadata.name, namespace: ns },
    spec: { hosts: [`${s.metadata.name}.${ns}.svc.cluster.local`], location: "MESH_INTERNAL", resolution: "STATIC",
      ports: s.spec.ports.map((p) => ({ number: p.port, name: p.name, protocol: protocolOf(p),
        targetPort: typeof p.targetPort === "number" ? p.targetPort : p.port })),
      workloadSelector: { labels: s.spec.selector } } });
}

let n = 0;
for (const w of workloads) {
  const ns = w.metadata.namespace ?? "default";
  const tpl = w.spec.template;
  const ports = tpl.spec.containers.flatMap((c) => c.ports ?? []);
  const sa = tpl.spec.serviceAccountName ?? "default";
  const egressNs = services.filter((s) => (s.metadata.namespace ?? "default") === ns);
  // One egress listener per distinct port of the namespace's Services.
  const egressPorts = new Map();
  for (const s of egressNs) for (const p of s.spec.ports) if (!egressPorts.has(p.port)) egressPorts.set(p.port, p);
  for (let k = 0; k < (w.spec.replicas ?? 1); k++) {
    n++;
    const name = `${w.metadata.name}-${k}`;
    const ip = `127.0.1.${n}`;
    const egressIp = `127.0.2.${n}`;
    const labels = { ...tpl.metadata.labels, "shopmesh.local/replica": name };
    const appPorts = ports.map((_, i) => Number(appBase) + n * 10 + i);
    out.push({ apiVersion: "networking.istio.io/v1", kind: "WorkloadEntry", metadata: { name, namespace: ns, labels },
      spec: { address: ip, labels, serviceAccount: sa } });
    // Ingress protocol: from the Service port whose targetPort is this container port.
    const svcPort = (cp) => services.filter((s) => matches(s.spec.selector, tpl.metadata.labels))
      .flatMap((s) => s.spec.ports).find((p) => (typeof p.targetPort === "number" ? p.targetPort : p.port) === cp.containerPort);
    out.push({ apiVersion: "networking.istio.io/v1", kind: "Sidecar", metadata: { name, namespace: ns },
      spec: { workloadSelector: { labels: { "shopmesh.local/replica": name } },
        ingress: ports.map((cp, i) => {
          const sp = svcPort(cp);
          return { port: { number: cp.containerPort, protocol: sp ? protocolOf(sp) : "TCP", name: cp.name },
            bind: ip, defaultEndpoint: `127.0.0.1:${appPorts[i]}` };
        }),
        egress: [...egressPorts.values()].map((p) => ({ port: { number: p.port, protocol: protocolOf(p), name: `egress-${p.port}` },
          bind: egressIp, hosts: [`./*`] })) } });
    lines.push([name, n, ip, egressIp, appPorts.join(","), sa, ns, JSON.stringify(labels)].join(" "));
  }
}

// The ingress gateway, in istio-system as `istioctl install` puts it.
out.push({ apiVersion: "networking.istio.io/v1", kind: "ServiceEntry", metadata: { name: "istio-ingressgateway", namespace: "istio-system" },
  spec: { hosts: ["istio-ingressgateway.istio-system.svc.cluster.local"], location: "MESH_INTERNAL", resolution: "STATIC",
    ports: [{ number: 80, name: "http2", protocol: "HTTP2", targetPort: Number(gatewayPort) }],
    workloadSelector: { labels: { istio: "ingressgateway" } } } });
out.push({ apiVersion: "networking.istio.io/v1", kind: "WorkloadEntry", metadata: { name: "istio-ingressgateway-0", namespace: "istio-system",
  labels: { istio: "ingressgateway" } },
  spec: { address: gatewayIp, labels: { istio: "ingressgateway" }, serviceAccount: "istio-ingressgateway-service-account" } });
for (const g of objects.filter((o) => o.kind === "Gateway")) {
  out.push({ ...g, spec: { ...g.spec, servers: g.spec.servers.map((s) => ({ ...s, bind: gatewayIp })) } });
}

process.stdout.write(out.map((o) => JSON.stringify(o)).join("\n---\n") + "\n");
process.stderr.write(lines.join("\n") + "\n");
