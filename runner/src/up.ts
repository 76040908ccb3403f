// `up`: starts whatever of the mesh is not running, in order (stores, services, reflector, edge),
// each healthy before the next kind starts. A second `up` restarts only what is not running.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { loadTopology, makeDevCerts, type Topology } from "@shopmesh/mesh";
import { tcpOpen } from "./health.js";
import { writeEdgeConf } from "./edge.js";
import { certDir, dataDir, logDir, nginxDir, repo, run, topologyFile } from "./paths.js";
import { plan, replicasFrom } from "./plan.js";
import { buildInstances, buildRoutes } from "./routes.js";
import { alive, portOwner, readState, reservePorts, startHealthy, writeState, type Plan, type ProcKind } from "./supervisor.js";
import { startSupervisor, stopSupervisor } from "./supervise.js";
import { table } from "./table.js";

function examples(topology: Topology): void {
  const edge = `${topology.edge.host}:${topology.edge.port}`;
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

export async function up(): Promise<void> {
  // It would restart what this `up` is starting: it comes back once everything serves.
  await stopSupervisor();
  const topology = loadTopology(topologyFile);
  // Replicas as recorded (alive or not, so a killed replica is started again), or as asked.
  const instances = buildInstances(topology, replicasFrom(process.env, readState()));
  const routes = buildRoutes(repo, topology);
  const plans = plan(topology, instances);
  for (const d of [logDir, join(nginxDir, "tmp"), join(run, "keys"), join(dataDir, "ferretdb"), join(dataDir, "redis")]) {
    mkdirSync(d, { recursive: true });
  }
  const state = readState().filter(alive);
  const running = new Set(state.map((p) => p.name));
  const missing = plans.filter((p) => !running.has(p.name));
  if (missing.length === 0) {
    console.log("The mesh is already running.\n");
    startSupervisor(state);
    await table(state);
    examples(topology);
    return;
  }
  await refuseTakenPorts(missing);
  reservePorts(plans.flatMap((p) => [p.port, p.adminPort].filter((x): x is number => x !== undefined)));
  // The dev CA and a certificate per identity, made once (kept across restarts, never committed).
  makeDevCerts(certDir, [...Object.keys(topology.services), "edge", "reflector"]);
  writeEdgeConf(topology, routes, instances);

  const procs = [...state];
  const order: ProcKind[] = ["store", "service", "reflector", "edge"];
  for (const kind of order) {
    const batch = missing.filter((p) => p.kind === kind);
    if (kind === "edge" && batch.length > 0) {
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
  examples(topology);
}
