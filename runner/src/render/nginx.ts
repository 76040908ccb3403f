// The nginx renderer (one config renderer a file under render/; the Istio ones will sit beside it):
// the edge from the routing table, plaintext h2c for clients on the edge port, and one exact
// location per RPC that grpc_passes to its service over mTLS with the edge's own client
// certificate. Idempotent RPCs may be retried on another replica; the rest only when the request
// never reached a server (connection refused), which nginx's default "error timeout" guarantees.
import type { Topology } from "@shopmesh/mesh";
import { REFLECTION_PREFIXES, REFLECTION_SERVICE, type Instance, type Route } from "../routes.js";

/** Where the edge finds its files. All paths absolute. */
export interface EdgePaths {
  /** Dev CA and the edge's client certificate (edge.pem, edge-key.pem, ca.pem). */
  certDir: string;
  /** nginx's prefix: pid file and temp dirs. */
  runDir: string;
  /** access and error logs. */
  logDir: string;
}

/**
 * Stream limits at the edge: per client address (as the services' own per-caller cap, MeshLimits
 * maxStreamsPerCaller), and in all, well below worker_connections (2 × 4096): unary calls always
 * find a connection.
 */
export const EDGE_STREAMS = { perClient: 32, total: 2048 };

/** Renders nginx.conf for the edge. */
export function renderNginxConf(topology: Topology, routes: Route[], instances: Instance[],
  paths: EdgePaths, runAsRoot: boolean): string {
  const upstreams = Object.keys(topology.services).map((service) => {
    const servers = instances.filter((i) => i.service === service)
      .map((i) => `    server 127.0.0.1:${i.port} max_fails=0;`).join("\n");
    return `  upstream ${service} {\n    least_conn;\n${servers}\n    keepalive 64;\n  }`;
  });
  const locations = routes.map((r) => {
    const retry = r.idempotent
      ? "      grpc_next_upstream error timeout http_502 http_503 non_idempotent;\n      grpc_next_upstream_tries 3;\n"
      : "      grpc_next_upstream error timeout;\n      grpc_next_upstream_tries 3;\n";
    // Streams are held for long (the services end one after 30 min): each gets a place in two
    // limits, per client address and for the whole edge, so held streams cannot take the edge's
    // connections from unary calls (every proxied stream holds one upstream connection).
    const timeout = r.streaming
      ? "      grpc_read_timeout 1h;\n      grpc_send_timeout 1h;\n" +
        `      limit_conn streams_per_client ${EDGE_STREAMS.perClient};\n      limit_conn streams_at_edge ${EDGE_STREAMS.total};\n` +
        "      error_page 429 = @too_many_streams;\n"
      : "";
    // The upstream must prove it is this service: its certificate names it, and no other does.
    return `    location = ${r.path} {\n      grpc_pass grpcs://${r.service};\n      grpc_ssl_name ${r.service};\n${retry}${timeout}    }`;
  });
  return `# Rendered by runner/src/render/nginx.ts from mesh/topology.json and gen/shop.binpb. Do not edit.
${runAsRoot ? "user root;\n" : ""}# In the foreground: the runner records the master's pid itself and stops it with SIGTERM.
daemon off;
worker_processes 2;
pid ${paths.runDir}/nginx.pid;
error_log ${paths.logDir}/edge-error.log warn;
events {
  worker_connections 4096;
}
http {
  log_format grpc '$remote_addr [$time_local] "$request_uri" $status '
    'grpc_status=$upstream_http_grpc_status$upstream_trailer_grpc_status '
    'rt=$request_time urt=$upstream_response_time up=$upstream_addr';
  access_log ${paths.logDir}/edge-access.log grpc buffer=32k flush=1s;
  client_body_temp_path ${paths.runDir}/tmp/body;
  proxy_temp_path ${paths.runDir}/tmp/proxy;
  fastcgi_temp_path ${paths.runDir}/tmp/fastcgi;
  uwsgi_temp_path ${paths.runDir}/tmp/uwsgi;
  scgi_temp_path ${paths.runDir}/tmp/scgi;
  client_max_body_size 4m;
  # Services limit open streams per client address; the edge tells them whose stream it is, and
  # overwrites whatever a client sent in this header.
  grpc_set_header x-forwarded-for $remote_addr;
  limit_conn_zone $binary_remote_addr zone=streams_per_client:1m;
  limit_conn_zone $server_port zone=streams_at_edge:64k;
  limit_conn_status 429;
  limit_conn_log_level warn;
  http2_max_concurrent_streams 1024;
  keepalive_requests 100000;

  # mTLS to every service, with the edge's own identity (spiffe://shop.local/ns/shop/sa/edge).
  grpc_ssl_certificate ${paths.certDir}/edge.pem;
  grpc_ssl_certificate_key ${paths.certDir}/edge-key.pem;
  grpc_ssl_trusted_certificate ${paths.certDir}/ca.pem;
  grpc_ssl_verify on;
  grpc_ssl_session_reuse on;
  grpc_connect_timeout 2s;
  grpc_read_timeout 60s;
  grpc_next_upstream_timeout 5s;

${upstreams.join("\n")}

  server {
    listen ${topology.edge.host}:${topology.edge.port} http2;

${locations.join("\n")}
    # Reflection of every service, and health: catalog answers both (it reflects the whole
    # contract set), on any of its replicas; nginx's default tries the next one on an error.
${REFLECTION_PREFIXES.map((prefix) => `    location ^~ ${prefix} {
      grpc_pass grpcs://${REFLECTION_SERVICE};
      grpc_ssl_name ${REFLECTION_SERVICE};
    }`).join("\n")}
    # A stream past the edge's limits: RESOURCE_EXHAUSTED, as the services answer past theirs.
    location @too_many_streams {
      default_type application/grpc;
      add_header grpc-status 8 always;
      add_header grpc-message "too many open streams, retry later" always;
      return 200;
    }
    # Anything else is not a shop RPC: answer UNIMPLEMENTED, as a gRPC server would.
    location / {
      default_type application/grpc;
      add_header grpc-status 12 always;
      add_header grpc-message "unknown service or method" always;
      return 200;
    }
  }
}
`;
}
