// The table `up` and `status` print: each recorded process, its address, its health right now,
// its metrics URL and its log.
import { probe } from "./health.js";
import { alive, type Proc } from "./supervisor.js";

/** A pilot-agent (sidecar or gateway): its status port serves Envoy's and its own metrics there. */
const isProxy = (p: Proc) => p.command[0]?.endsWith("pilot-agent") ?? false;

export async function table(procs: Proc[]): Promise<void> {
  const rows = await Promise.all(procs.map(async (p) => [
    p.name, p.port ? `127.0.0.1:${p.port}` : "-", alive(p) ? await probe(p) : "DOWN", String(p.restarts ?? 0),
    p.adminPort ? `http://127.0.0.1:${p.adminPort}${isProxy(p) ? "/stats/prometheus" : "/metrics"}` : "-", `.run/logs/${p.name}.log`,
  ]));
  const head = ["service", "address", "health", "restarts", "metrics", "log"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ");
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}
