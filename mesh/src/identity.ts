// Caller workload identity: the SPIFFE URI SAN of the client certificate in local mode, or the URI of
// the x-forwarded-client-cert header that the Istio sidecar sets in istio mode. The name it yields
// ("edge", "order", ...) is what topology.json's `callers` lists.
import type { PeerCertificate } from "node:tls";
import type { Topology } from "./topology.js";

/** Extracts the mesh identity name from a SPIFFE id, if it belongs to this mesh. */
export function identityFromSpiffe(uri: string, topology: Pick<Topology, "trustDomain" | "namespace">, anyTrustDomain = false): string | undefined {
  const prefix = "spiffe://";
  if (!uri.startsWith(prefix)) return undefined;
  const rest = uri.slice(prefix.length);
  const slash = rest.indexOf("/");
  if (slash < 0) return undefined;
  const domain = rest.slice(0, slash);
  // In a cluster the trust domain is the cluster's (often cluster.local), not the local dev CA's.
  if (!anyTrustDomain && domain !== topology.trustDomain) return undefined;
  const m = /^\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(rest.slice(slash));
  if (m === null) return undefined;
  const [, ns, sa] = m as unknown as [string, string, string];
  // The Istio ingress gateway plays the edge's role in a cluster.
  if (sa === "istio-ingressgateway" || sa === "istio-ingressgateway-service-account") return "edge";
  return ns === topology.namespace ? sa : undefined;
}

/** The mesh identity in a verified peer certificate's SAN URI (local mode). */
export function identityFromCertificate(cert: PeerCertificate | undefined, topology: Pick<Topology, "trustDomain" | "namespace">): string | undefined {
  const san = cert?.subjectaltname;
  if (san === undefined) return undefined;
  for (const part of san.split(", ")) {
    if (part.startsWith("URI:")) {
      const id = identityFromSpiffe(part.slice(4), topology);
      if (id !== undefined) return id;
    }
  }
  return undefined;
}

/**
 * The mesh identity in an x-forwarded-client-cert header (istio mode). The sidecar sanitizes and sets
 * it, so the last element describes the immediate peer; its URI= is that peer's SPIFFE id.
 */
export function identityFromXfcc(header: string | undefined, topology: Pick<Topology, "trustDomain" | "namespace">): string | undefined {
  if (header === undefined || header === "") return undefined;
  const elements = header.split(",");
  const last = elements[elements.length - 1]!;
  for (const kv of last.split(";")) {
    const eq = kv.indexOf("=");
    if (eq < 0) continue;
    if (kv.slice(0, eq).trim().toLowerCase() !== "uri") continue;
    const value = kv.slice(eq + 1).trim().replace(/^"|"$/g, "");
    return identityFromSpiffe(value, topology, true);
  }
  return undefined;
}
