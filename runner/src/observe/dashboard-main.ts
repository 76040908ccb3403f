// The dashboard as a process of `make up OBSERVE=1` (observe/plan.ts): the mesh as .run/mesh.json
// records it, drawn from mesh/topology.json, with Prometheus's and Zipkin's figures (dashboard.ts).
import { loadTopology } from "@shopmesh/mesh";
import { topologyFile } from "../paths.js";
import { readState } from "../supervisor.js";
import { startDashboard } from "./dashboard.js";

const port = Number(process.env.DASHBOARD_PORT ?? "3000");
const dashboard = await startDashboard({
  port, prometheusUrl: process.env.PROMETHEUS_URL ?? "http://127.0.0.1:9190", zipkinUrl: process.env.ZIPKIN_URL ?? "http://127.0.0.1:9411",
  topology: loadTopology(topologyFile),
  // Re-read at every refresh: the supervisor rewrites the record as it restarts processes.
  processes: () => readState().filter((p) => p.kind !== "supervisor"),
});
console.log(`dashboard on ${dashboard.url}`);
const stop = () => { void dashboard.close().then(() => process.exit(0)); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
