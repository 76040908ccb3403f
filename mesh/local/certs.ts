// Dev certificates for the one-machine mesh. `makeDevCerts` lives in mesh/src (so it ships with the
// package and tests can use it); this entry point issues one for every topology identity plus "edge".
// Usage (after a build): node mesh/dist/... or via the runner: makeDevCerts(".run/certs", names).
import { makeDevCerts } from "../src/identity-certs.js";
import { loadTopology } from "../src/config.js";

export { makeDevCerts } from "../src/identity-certs.js";

/** The identities the local mesh needs certificates for: every topology service plus the edge. */
export function meshIdentities(): string[] {
  return [...Object.keys(loadTopology().services), "edge"];
}

/** Issues (idempotently) the local mesh's dev certificates into `dir`. */
export function makeMeshCerts(dir: string): string[] {
  const topo = loadTopology();
  const names = meshIdentities();
  makeDevCerts(dir, names, { trustDomain: topo.trustDomain, namespace: topo.namespace });
  return names;
}
