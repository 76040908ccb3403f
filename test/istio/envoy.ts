// What the istio tests read from the running `make up MESH=istio`: every proxy with its Envoy
// admin port, a sidecar's counters (/stats), an app's own gRPC metrics, and a replica restarted
// with the fault knob (mesh/src/fault.ts) while the rest of the mesh keeps running.
import { recorded, type Recorded } from "../e2e/support.js";
import { meshUp, stopProcess } from "../chaos/mesh-control.js";

export const procs = recorded();

/** Every pilot-agent (sidecars and the gateway), with its Envoy's admin port from its PROXY_CONFIG. */
export const proxies = procs.filter((p) => p.kind === "proxy" || p.name === "gateway")
  .map((p) => ({ ...p, admin: (JSON.parse(p.env!.PROXY_CONFIG!) as { proxyAdminPort: number }).proxyAdminPort }));

/** A sidecar's admin port and the IP its inbound listeners bind (INSTANCE_IP). */
export function sidecar(app: string): { admin: number; ip: string } {
  const p = proxies.find((x) => x.name === `${app}-sidecar`);
  if (!p) throw new Error(`${app}-sidecar is not recorded in .run/mesh.json: is make up MESH=istio running?`);
  return { admin: p.admin, ip: p.env!.INSTANCE_IP! };
}

/** The ingress gateway's Envoy admin port. */
export function gatewayAdmin(): number {
  const p = proxies.find((x) => x.name === "gateway");
  if (!p) throw new Error("the gateway is not recorded in .run/mesh.json: is make up MESH=istio running?");
  return p.admin;
}

/** A recorded app process (its adminPort serves /metrics). */
export function app(name: string): Recorded {
  const p = procs.find((x) => x.name === name);
  if (!p) throw new Error(`${name} is not recorded in .run/mesh.json`);
  return p;
}

export async function text(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return res.text();
}

/** Envoy's counters whose name matches, summed (absent = 0). */
export async function stat(admin: number, pattern: RegExp): Promise<number> {
  let sum = 0;
  for (const line of (await text(`http://127.0.0.1:${admin}/stats`)).split("\n")) {
    const i = line.lastIndexOf(": ");
    if (i > 0 && pattern.test(line.slice(0, i))) sum += Number(line.slice(i + 2)) || 0;
  }
  return sum;
}

/** A counter of the gateway's or a sidecar's outbound cluster to `host` (subset v1, v2 or "" for none). */
export function clusterStat(host: string, port: number, subset: string, counter: string): RegExp {
  const name = `outbound|${port}|${subset}|${host}.shop.svc.cluster.local;`.replace(/[|.]/g, (c) => `\\${c}`);
  return new RegExp(`^cluster\\.${name}\\.${counter.replace(/\./g, "\\.")}$`);
}

/** Sums an app's own gRPC counter (e.g. grpc_server_started_total) over the series whose labels include all of `labels`. */
export async function appCounter(name: string, metric: string, labels: Record<string, string>): Promise<number> {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const l of (await text(`http://127.0.0.1:${app(name).adminPort}/metrics`)).split("\n")) {
    if (l.startsWith(`${metric}{`) && want.every((w) => l.includes(w))) sum += Number(l.split(" ").pop());
  }
  return sum;
}

/**
 * Stops one replica (SIGTERM, the supervisor paused) and starts it again with `env` (the fault
 * knob; {} for none), through the runner's own `up`, which starts only what is not running. Its
 * sidecar, and so its address in every Envoy, stays.
 */
export async function restartWith(name: string, env: Record<string, string>): Promise<void> {
  await stopProcess(name, "SIGTERM");
  await meshUp({ MESH: "istio", ...env });
}
