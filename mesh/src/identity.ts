// Caller workload identity: the SPIFFE URI SAN of the client certificate in local mode, or the URI of
// the x-forwarded-client-cert header that the Istio sidecar sets in istio mode. The name it yields
// ("edge", "order", ...) is what topology.json's `callers` lists.
//
// Both are pinned (issue 14): a SPIFFE id names a mesh identity only in the mesh's own trust
// domain and namespace, and the Istio ingress gateway is the edge only in the gateway's namespace.
import type { PeerCertificate } from "node:tls";

/** Whose SPIFFE ids name mesh identities. */
export interface TrustPolicy {
  /** The only trust domain accepted: the dev CA's locally (topology.json), the cluster's under Istio. */
  trustDomain: string;
  /** The only namespace whose service accounts are mesh identities. */
  namespace: string;
  /** The namespace of the Istio ingress gateway, whose service account plays the edge. */
  gatewayNamespace: string;
}

const GATEWAY_ACCOUNTS = new Set(["istio-ingressgateway", "istio-ingressgateway-service-account"]);

/** Extracts the mesh identity name from a SPIFFE id, if it belongs to this mesh. */
export function identityFromSpiffe(uri: string, trust: TrustPolicy): string | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (m === null) return undefined;
  const [, domain, ns, sa] = m as unknown as [string, string, string, string];
  if (domain !== trust.trustDomain) return undefined;
  // The Istio ingress gateway plays the edge's role in a cluster, from its own namespace only.
  if (GATEWAY_ACCOUNTS.has(sa)) return ns === trust.gatewayNamespace ? "edge" : undefined;
  return ns === trust.namespace ? sa : undefined;
}

/** The mesh identity in a verified peer certificate's SAN URI (local mode). */
export function identityFromCertificate(cert: PeerCertificate | undefined, trust: TrustPolicy): string | undefined {
  const san = cert?.subjectaltname;
  if (san === undefined) return undefined;
  for (const part of san.split(", ")) {
    if (part.startsWith("URI:")) {
      const id = identityFromSpiffe(part.slice(4), trust);
      if (id !== undefined) return id;
    }
  }
  return undefined;
}

/**
 * The mesh identity in an x-forwarded-client-cert header (istio mode). The sidecar sanitizes and sets
 * it, so the last element describes the immediate peer; its URI= is that peer's SPIFFE id.
 */
export function identityFromXfcc(header: string | undefined, trust: TrustPolicy): string | undefined {
  if (header === undefined || header === "") return undefined;
  const elements = header.split(",");
  const last = elements[elements.length - 1]!;
  for (const kv of last.split(";")) {
    const eq = kv.indexOf("=");
    if (eq < 0) continue;
    if (kv.slice(0, eq).trim().toLowerCase() !== "uri") continue;
    const value = kv.slice(eq + 1).trim().replace(/^"|"$/g, "");
    return identityFromSpiffe(value, trust);
  }
  return undefined;
}
