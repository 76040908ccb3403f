// `proxy-config <service>` (make proxy-config SERVICE=catalog): what istiod pushed to a sidecar, read
// from its Envoy's admin port, the one-machine `istioctl proxy-config`: its listeners, the routes
// of its HTTP listeners, and its clusters with their endpoints.
import { alive, readState, type Proc } from "../supervisor.js";

/** The admin port of the sidecar of `name` (a service or a replica: catalog, catalog-2), or of the gateway. */
function proxyOf(name: string, procs: Proc[]): Proc {
  const want = name === "gateway" ? "gateway" : `${name}-sidecar`;
  const p = procs.find((x) => x.name === want && alive(x));
  if (!p) {
    const known = procs.filter((x) => x.kind === "proxy" || x.name === "gateway").map((x) => x.name.replace(/-sidecar$/, ""));
    throw new Error(known.length === 0 ? "no sidecar runs: make up MESH=istio starts them"
      : `no running sidecar for ${JSON.stringify(name)}; one of ${known.join(", ")}`);
  }
  return p;
}

async function admin(port: number, path: string): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`Envoy admin ${path}: HTTP ${res.status}`);
  return res.json();
}

/** Prints the sidecar's listeners, routes and clusters. */
export async function proxyConfig(name: string): Promise<void> {
  const port = proxyOf(name, readState()).port; // a proxy's recorded port is its Envoy admin port
  const listeners = await admin(port, "/listeners?format=json");
  console.log(`# listeners (Envoy admin 127.0.0.1:${port})`);
  for (const l of listeners.listener_statuses ?? []) {
    const a = l.local_address?.socket_address;
    console.log(`${l.name.padEnd(32)} ${a ? `${a.address}:${a.port_value}` : "-"}`);
  }
  const dump = await admin(port, "/config_dump?resource=dynamic_route_configs");
  console.log("\n# routes");
  for (const c of dump.configs ?? []) {
    const rc = c.route_config;
    for (const vh of rc?.virtual_hosts ?? []) {
      for (const r of vh.routes ?? []) {
        const m = r.match ?? {};
        const match = m.path ?? m.prefix ?? m.safe_regex?.regex ?? "/";
        const to = r.route?.cluster ?? r.route?.weighted_clusters?.clusters?.map((w: any) => `${w.name} ${w.weight}`).join(", ")
          ?? (r.direct_response ? `direct ${r.direct_response.status}` : "-");
        console.log(`${rc.name.padEnd(8)} ${String(vh.domains?.[0] ?? "").padEnd(44)} ${String(match).padEnd(52)} ${to}`);
      }
    }
  }
  const clusters = await admin(port, "/clusters?format=json");
  console.log("\n# clusters");
  for (const c of clusters.cluster_statuses ?? []) {
    const hosts = (c.host_statuses ?? []).map((h: any) => {
      const a = h.address?.socket_address;
      return `${a?.address}:${a?.port_value} ${h.health_status?.eds_health_status ?? ""}`.trim();
    });
    console.log(`${c.name.padEnd(64)} ${hosts.join(", ") || "-"}`);
  }
}
