// `restart <service>`: a rolling restart, one replica at a time, without failing a call.
import { loadTopology, type Topology } from "@shopmesh/mesh";
import { reloadEdge } from "./edge.js";
import { repo, topologyFile } from "./paths.js";
import { plan, replicasFrom } from "./plan.js";
import { buildInstances, buildRoutes } from "./routes.js";
import { startSupervisor, stopSupervisor } from "./supervise.js";
import { alive, modeOf, readState, startHealthy, stop, type Proc } from "./supervisor.js";

/**
 * Restarts every replica of a service, one at a time, without failing a call: the edge stops
 * sending it new calls first (nginx reload without that replica, as Kubernetes removes an
 * endpoint before SIGTERM), then it drains (SIGTERM), starts again, becomes healthy, and rejoins
 * the edge. With one replica there is nowhere else to send calls, so its restart is visible.
 */
export async function restart(service: string): Promise<void> {
  const topology = loadTopology(topologyFile);
  if (!topology.services[service]) throw new Error(`unknown service ${service}; one of ${Object.keys(topology.services).join(", ")}`);
  if (modeOf(readState().filter(alive)) === "istio") {
    // The plan here is local mode's; a replica behind a sidecar needs istio/plan.ts's environment.
    throw new Error("restart is for local mode; under MESH=istio the supervisor restarts a replica that dies, or make down and make up MESH=istio");
  }
  // Stopped for the rolling restart, which would otherwise look like a crash to it.
  const procs = await stopSupervisor();
  try {
    await rolling(service, topology, procs);
  } finally {
    startSupervisor(procs);
  }
}

async function rolling(service: string, topology: Topology, procs: Proc[]): Promise<void> {
  const running = procs.filter(alive);
  const instances = buildInstances(topology, replicasFrom(process.env, procs));
  const routes = buildRoutes(repo, topology);
  const plans = plan(topology, instances);
  const edge = running.find((p) => p.kind === "edge");
  const reload = async (without?: string) => {
    if (edge) await reloadEdge(edge, topology, routes, instances.filter((i) => i.name !== without));
  };
  const replicas = instances.filter((i) => i.service === service);
  for (const instance of replicas) {
    const old = procs.find((p) => p.name === instance.name);
    if (replicas.length > 1) await reload(instance.name);
    if (old) await stop(old);
    const proc = await startHealthy(plans.find((p) => p.name === instance.name)!, procs, 60_000);
    if (replicas.length > 1) await reload();
    console.log(`restart: ${proc.name} is serving again on 127.0.0.1:${proc.port}`);
  }
}
