// The one-machine mesh: `node runner/dist/cli.js up|down|status|pids|restart <service>`, run by
// make up/down/status/restart (mk/local.mk). `up` starts FerretDB, Redis, every service and
// the nginx edge as detached processes, records their pids in .run/mesh.json, waits
// until all are healthy, and returns. `down` stops exactly the recorded processes (checking each
// pid still runs the command it recorded) and keeps .data/. A second `up` restarts only what is
// not running. Between them, the supervisor `up` starts (supervise.ts) restarts whatever dies. What each command does is in its own file; this one only dispatches.
import { loadTopology } from "@shopmesh/mesh";
import { down } from "./down.js";
import { proxyConfig } from "./istio/proxy-config.js";
import { writeObservabilityFiles } from "./observe/k8s-files.js";
import { traceLogs } from "./observe/trace-logs.js";
import { logDir, topologyFile } from "./paths.js";
import { restart } from "./restart.js";
import { stopSupervisor } from "./supervise.js";
import { alive, readState } from "./supervisor.js";
import { table } from "./table.js";
import { apply, up } from "./up.js";

async function main(): Promise<void> {
  const cmd = process.argv[2];
  if (cmd === "up") await up();
  else if (cmd === "down") await down();
  else if (cmd === "status") {
    const procs = readState();
    if (procs.length === 0) console.log("The mesh is not running (make up starts it).");
    else await table(procs);
  } else if (cmd === "restart") {
    await restart(process.argv[3] ?? "");
  } else if (cmd === "unsupervise") {
    // Until the next `up` or `restart`, nothing restarts what dies (chaos tests that hold a process down).
    await stopSupervisor();
  } else if (cmd === "proxy-config") {
    await proxyConfig(process.argv[3] ?? "");
  } else if (cmd === "apply") {
    apply(process.argv[3] ?? "");
  } else if (cmd === "trace-logs") {
    for (const line of await traceLogs(logDir, process.argv[3] ?? "")) console.log(line);
  } else if (cmd === "render-observability") {
    for (const path of writeObservabilityFiles(loadTopology(topologyFile))) console.log(`wrote ${path}`);
  } else if (cmd === "pids") {
    for (const p of readState().filter(alive)) console.log(`${p.name} ${p.pid}`);
  } else {
    console.error("usage: cli.js up|down|status|pids|restart <service>|unsupervise|proxy-config <service>|apply <overlay>|trace-logs <trace id>|render-observability");
    process.exit(2);
  }
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  if (process.argv[2] === "up" && readState().some(alive)) console.error("make down stops what was started so far.");
  process.exit(1);
});
