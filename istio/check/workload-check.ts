// Checks the base workloads against the topology: each service's Service ports, container ports,
// PORT/ADMIN_PORT and probe ports are the ones it is configured with, each pod is hardened, and a
// TypeScript service's V8 old-space cap and semi-space are the local runner's, the cap within
// its memory limit.
import type { Topology } from "@shopmesh/mesh";
import { oldSpaceMib, semiSpaceMib } from "../../runner/src/plan.js";
import { describe, type Manifest } from "./render.js";

/** What a Node service holds besides its old generation: 64 MiB of young generation (two 32 MB semi-spaces) and about 64 of code and native memory. */
export const NODE_HEADROOM_MIB = 128;

interface ServicePort { name?: string; port: number; targetPort?: number | string; appProtocol?: string }
interface Probe { grpc?: { port: number } }
interface Container {
  name: string;
  ports?: { containerPort: number }[];
  env?: { name: string; value?: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: { memory?: string }; limits?: { memory?: string } };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: { containers: Container[]; securityContext?: { runAsNonRoot?: boolean }; terminationGracePeriodSeconds?: number };
}

/** Lists every workload problem of the rendered manifests; empty when all hold. */
export function checkWorkloads(manifests: Manifest[], topo: Topology): string[] {
  const problems: string[] = [];
  const meshMode = manifests.find((m) => m.kind === "ConfigMap" && m.data?.MESH_MODE !== undefined)?.data?.MESH_MODE;
  if (meshMode !== "istio") problems.push(`no ConfigMap sets MESH_MODE=istio (found ${meshMode ?? "none"})`);
  for (const [name, svc] of Object.entries(topo.services)) {
    const service = manifests.find((m) => m.kind === "Service" && m.metadata.name === name);
    if (!service) {
      problems.push(`${name}: no Service`);
    } else {
      const ports = (service.spec as { ports?: ServicePort[] }).ports ?? [];
      const grpc = ports.filter((p) => p.name?.startsWith("grpc-"));
      if (grpc.length !== 1 || grpc[0]!.port !== svc.port || grpc[0]!.appProtocol !== "grpc") {
        problems.push(`${describe(service)}: needs one grpc-* port ${svc.port} with appProtocol grpc, has ${JSON.stringify(grpc)}`);
      }
      if (!ports.some((p) => p.port === svc.adminPort)) {
        problems.push(`${describe(service)}: no admin port ${svc.adminPort}`);
      }
    }
    if (!manifests.some((m) => m.kind === "ServiceAccount" && m.metadata.name === name)) {
      problems.push(`${name}: no ServiceAccount`);
    }
    const deployments = manifests.filter((m) => m.kind === "Deployment"
      && (m.spec as { template: PodTemplate }).template.metadata?.labels?.app === name);
    if (deployments.length === 0) problems.push(`${name}: no Deployment`);
    for (const d of deployments) checkPod(d, name, svc.port, svc.adminPort, problems);
    if (svc.language === "ts") for (const d of deployments) checkHeap(d, name, problems);
  }
  return problems;
}

function checkPod(d: Manifest, name: string, port: number, adminPort: number, problems: string[]): void {
  const where = describe(d);
  const tpl = (d.spec as { template: PodTemplate }).template;
  const labels = tpl.metadata?.labels ?? {};
  if (!labels.version) problems.push(`${where}: pods lack the version label`);
  if (tpl.spec.securityContext?.runAsNonRoot !== true) problems.push(`${where}: not runAsNonRoot`);
  // The services drain for up to 10 s; the kubelet must wait longer than that before SIGKILL.
  const grace = tpl.spec.terminationGracePeriodSeconds ?? 30;
  if (grace < 11 || grace > 30) problems.push(`${where}: terminationGracePeriodSeconds ${grace} does not fit the 10 s drain`);
  const c = tpl.spec.containers.find((x) => x.name === name);
  if (!c) {
    problems.push(`${where}: no container named ${name}`);
    return;
  }
  const env = new Map((c.env ?? []).map((e) => [e.name, e.value]));
  if (env.get("PORT") !== String(port)) problems.push(`${where}: PORT is ${env.get("PORT")}, the topology says ${port}`);
  if (env.get("ADMIN_PORT") !== String(adminPort)) problems.push(`${where}: ADMIN_PORT is ${env.get("ADMIN_PORT")}, the topology says ${adminPort}`);
  const cports = (c.ports ?? []).map((p) => p.containerPort);
  if (!cports.includes(port) || !cports.includes(adminPort)) problems.push(`${where}: containerPorts ${cports.join(",")} lack ${port} or ${adminPort}`);
  for (const [kind, probe] of [["readiness", c.readinessProbe], ["liveness", c.livenessProbe]] as const) {
    if (probe?.grpc?.port !== port) problems.push(`${where}: ${kind} probe is not a grpc probe on ${port}`);
  }
  if (!c.resources?.requests || !c.resources.limits) problems.push(`${where}: no requests and limits`);
  const sc = c.securityContext;
  if (sc?.readOnlyRootFilesystem !== true || sc.allowPrivilegeEscalation !== false || !sc.capabilities?.drop?.includes("ALL")) {
    problems.push(`${where}: container must be readOnlyRootFilesystem, no privilege escalation, drop ALL`);
  }
}

// The old-space cap and the semi-space the Deployment passes (services/Dockerfile reads
// OLD_SPACE_MIB and SEMI_SPACE_MIB) must be the runner's, so a cluster runs what was measured, and
// the memory limit must hold the cap with headroom, or the kubelet kills the pod before V8 collects.
function checkHeap(d: Manifest, name: string, problems: string[]): void {
  const where = describe(d);
  const c = (d.spec as { template: PodTemplate }).template.spec.containers.find((x) => x.name === name);
  if (!c) return;
  const want = oldSpaceMib(name);
  const got = c.env?.find((e) => e.name === "OLD_SPACE_MIB")?.value;
  if (got !== String(want)) problems.push(`${where}: OLD_SPACE_MIB is ${got ?? "unset"}, the runner caps ${name} at ${want}`);
  const semi = semiSpaceMib(name);
  const gotSemi = c.env?.find((e) => e.name === "SEMI_SPACE_MIB")?.value;
  if (gotSemi !== String(semi)) problems.push(`${where}: SEMI_SPACE_MIB is ${gotSemi ?? "unset"}, the runner gives ${name} ${semi}`);
  const limit = mib(c.resources?.limits?.memory);
  if (limit === undefined || limit < want + NODE_HEADROOM_MIB) {
    problems.push(`${where}: memory limit ${c.resources?.limits?.memory ?? "unset"} does not hold the ${want} MiB old-space cap and ${NODE_HEADROOM_MIB} MiB more`);
  }
}

function mib(quantity: string | undefined): number | undefined {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity ?? "");
  return m ? Number(m[1]) * (m[2] === "Gi" ? 1024 : 1) : undefined;
}
