// `up`: starts whatever of the mesh is not running, in order (stores, services, edge),
// each healthy before the next kind starts. A second `up` restarts only what is not running.
// MESH=istio runs the real data plane instead (istio/plan.ts): istiod and an Envoy sidecar per
// replica, configured from the rendered overlay of istio/, and the ingress gateway as the edge.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadTopology, makeDevCerts, type Topology } from "@shopmesh/mesh";
import { tcpOpen } from "./health.js";
import { writeEdgeConf } from "./edge.js";
import { certDir, dataDir, logDir, nginxDir, repo, run, topologyFile } from "./paths.js";
import { plan, replicasFrom } from "./plan.js";
import { buildInstances, buildRoutes } from "./routes.js";
import { alive, portOwner, readState, reservePorts, startHealthy, writeState, modeOf, type MeshKind, type Plan, type ProcKind } from "./supervisor.js";
import { checkTools, localSecrets, OVERLAY, renderManifests, writeIstiodConfig, writeProxyCerts } from "./istio/files.js";
import { istioPlan } from "./istio/plan.js";
import { renderIstio } from "./istio/render.js";
import { startSupervisor, stopSupervisor } from "./supervise.js";
import { OBSERVE_PORTS, observeOn, observePlans, otelEnv, writePrometheusFiles } from "./observe/plan.js";
import { table } from "./table.js";

function examples(topology: Topology, observe: boolean): void {
  const edge = `${topology.edge.host}:${topology.edge.port}`;
  if (observe) {
    console.log(`
Observe it: the mesh dashboard http://127.0.0.1:${OBSERVE_PORTS.dashboard}/, traces in Zipkin
http://127.0.0.1:${OBSERVE_PORTS.zipkin}/zipkin/, metrics in Prometheus http://127.0.0.1:${OBSERVE_PORTS.prometheus}/`);
  }
  console.log(`
Try it (grpcurl is in .bin/):
  .bin/grpcurl -plaintext ${edge} list
  .bin/grpcurl -plaintext -d '{"page_size": 3}' ${edge} shop.catalog.v2.CatalogService/ListProducts
  .bin/grpcurl -plaintext -d '{"email": "you@example.com", "password": "correct horse"}' ${edge} shop.auth.v1.AuthService/Register
`);
}

/** Refuses before starting anything when a port we need is taken by someone else. */
async function refuseTakenPorts(missing: Plan[]): Promise<void> {
  for (const p of missing) {
    for (const port of [p.port, p.adminPort].filter((x): x is number => x !== undefined)) {
      if (await tcpOpen(port)) {
        throw new Error(`port ${port} (for ${p.name}) is taken by ${portOwner(port)}. ` +
          "Stop that process or free the port; make up never kills what it did not start.");
      }
    }
  }
}

/**
 * `apply <overlay>`: the one-machine `kubectl apply -k`. Renders another overlay of istio/ (e.g.
 * istio/overlays/chaos) for the running istio-mode mesh and hands it to istiod, which checks it
 * and pushes it to every Envoy (a refused config keeps the previous one, and says so in its log).
 * Nothing restarts. `make up MESH=istio` again, or `apply istio/overlays/default`, goes back.
 */
export function apply(dir: string): void {
  const procs = readState().filter(alive);
  if (modeOf(procs.filter((p) => p.kind !== "supervisor")) !== "istio") throw new Error("apply needs the mesh in istio mode: make up MESH=istio");
  if (!dir) throw new Error("usage: cli.js apply <overlay dir>, e.g. istio/overlays/chaos");
  const topology = loadTopology(topologyFile);
  // The replicas up recorded, alive or not: the same WorkloadEntries up gave istiod.
  const instances = buildInstances(topology, replicasFrom({}, readState()));
  const gateway = { ip: topology.edge.host, port: topology.edge.port };
  writeIstiodConfig(renderIstio(renderManifests(dir), topology, instances, gateway).config);
  console.log(`apply: ${dir} handed to istiod (its log says when it pushed)`);
}

export async function up(): Promise<void> {
  const mode: MeshKind = process.env.MESH === "istio" ? "istio" : "local";
  if (process.env.MESH && process.env.MESH !== "istio" && process.env.MESH !== "local") {
    throw new Error(`MESH=${process.env.MESH}: must be local or istio`);
  }
  if (mode === "istio") checkTools();
  const runningMode = modeOf(readState().filter(alive).filter((p) => p.kind !== "supervisor"));
  if (runningMode && runningMode !== mode) {
    throw new Error(`the mesh runs in ${runningMode} mode; make down first, then make up${mode === "istio" ? " MESH=istio" : ""}`);
  }
  // It would restart what this `up` is starting: it comes back once everything serves.
  await stopSupervisor();
  const topology = loadTopology(topologyFile);
  // Replicas as recorded (alive or not, so a killed replica is started again), or as asked.
  const instances = buildInstances(topology, replicasFrom(process.env, readState()));
  for (const d of [logDir, join(nginxDir, "tmp"), join(run, "keys"), join(dataDir, "ferretdb"), join(dataDir, "redis")]) {
    mkdirSync(d, { recursive: true });
  }
  const gateway = { ip: topology.edge.host, port: topology.edge.port };
  // Istio mode: the overlay rendered and turned into istiod's config before anything starts, so a
  // broken manifest starts nothing, and a proxy's first config is complete.
  const istio = mode === "istio" ? renderIstio(renderManifests(OVERLAY), topology, instances, gateway) : undefined;
  const plans = istio ? istioPlan(topology, instances, istio.workloads, gateway, localSecrets) : plan(topology, instances);
  // OBSERVE=1: Zipkin, Prometheus and the dashboard after the stores, and every service exporting its spans.
  const observe = observeOn(process.env, readState());
  if (observe) {
    checkObserveTools();
    for (const p of plans) if (p.kind === "service") p.env = { ...p.env, ...otelEnv() };
    plans.splice(plans.findLastIndex((p) => p.kind === "store") + 1, 0, ...observePlans());
  }
  const state = readState().filter(alive);
  const running = new Set(state.map((p) => p.name));
  const missing = plans.filter((p) => !running.has(p.name));
  if (missing.length === 0) {
    console.log("The mesh is already running.\n");
    startSupervisor(state);
    await table(state);
    examples(topology, observe);
    return;
  }
  await refuseTakenPorts(missing);
  reservePorts(plans.flatMap((p) => [p.port, p.adminPort].filter((x): x is number => x !== undefined)));
  if (istio) {
    writeIstiodConfig(istio.config);
    writeProxyCerts(topology, istio.workloads);
  } else {
    // The dev CA and a certificate per identity, made once (kept across restarts, never committed).
    makeDevCerts(certDir, [...Object.keys(topology.services), "edge"]);
    writeEdgeConf(topology, buildRoutes(repo, topology), instances);
  }
  if (observe) writePrometheusFiles(topology, instances);

  const procs = [...state];
  // Istio mode: istiod first, so a manifest it refuses starts nothing else (its message is the
  // error), then each proxy before its app (holdApplicationUntilProxyStarts).
  const order: ProcKind[] = istio ? ["control", "store", "observe", "proxy", "service", "edge"]
    : ["store", "observe", "service", "edge"];
  for (const kind of order) {
    const batch = missing.filter((p) => p.kind === kind);
    if (kind === "edge" && !istio && batch.length > 0) {
      execFileSync(batch[0]!.command[0]!, [...batch[0]!.command.slice(1), "-t", "-q"], { stdio: "inherit" });
    }
    const started = await Promise.all(batch.map((p) => startHealthy(p, procs, kind === "store" ? 20_000 : 60_000)));
    for (const p of started) console.log(`up: ${p.name} is serving on 127.0.0.1:${p.port}`);
  }
  // The table lists processes in start order, also after a partial restart.
  procs.sort((a, b) => plans.findIndex((p) => p.name === a.name) - plans.findIndex((p) => p.name === b.name));
  writeState(procs);
  startSupervisor(procs);
  console.log("");
  await table(procs);
  examples(topology, observe);
}

/** OBSERVE=1 needs Zipkin's jar, Java and Prometheus: names what is missing and the step that installs it. */
function checkObserveTools(): void {
  const onPath = (cmd: string) => (process.env.PATH ?? "").split(":").some((d) => d && existsSync(join(d, cmd)));
  const missing = [!existsSync(join(repo, ".bin", "zipkin.jar")) && ".bin/zipkin.jar", !onPath("java") && "java",
    !onPath("prometheus") && "prometheus"].filter((x): x is string => typeof x === "string");
  if (missing.length > 0) throw new Error(`OBSERVE=1 needs ${missing.join(", ")}: run make setup-observe`);
}
