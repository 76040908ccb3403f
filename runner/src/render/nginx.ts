// The nginx renderer (one config renderer a file under render/; the Istio ones will sit beside it):
// the edge from the routing table, plaintext h2c for clients on the edge port, and one exact
// location per RPC that grpc_passes to its service over mTLS with the edge's own client
// certificate. Idempotent RPCs may be retried on another replica; the rest only when the request
// never reached a server (connection refused), which nginx's default "error timeout" guarantees.
import type { Topology } from "@shopmesh/mesh";
import type { Instance, Route } from "../routes.js";

/** Where the edge finds its files. All paths absolute. */
export interface EdgePaths {
  /** Dev CA and the edge's client certificate (edge.pem, edge-key.pem, ca.pem). */
  certDir: string;
  /** nginx's prefix: pid file and temp dirs. */
  runDir: string;
  /** access and error logs. */
  logDir: string;
}

/** The place that reflects every service, so `grpcurl 127.0.0.1:8080 list` lists them all. */
export interface ReflectorAddress {
  port: number;
}

/** Renders nginx.conf for the edge. */
export function renderNginxConf(topology: Topology, routes: Route[], instances: Instance[],
  reflector: ReflectorAddress, paths: EdgePaths, runAsRoot: boolean): string {
  const upstreams = Object.keys(topology.services).map((service) => {
    const servers = instances.filter((i) => i.service === service)
      .map((i) => `    server 127.0.0.1:${i.port} max_fails=0;`).join("\n");
    return `  upstream ${service} {\n    least_conn;\n${servers}\n    keepalive 64;\n  }`;
  });
  const locations = routes.map((r) => {
    const retry = r.idempotent
      ? "      grpc_next_upstream error timeout http_502 http_503 non_idempotent;\n      grpc_next_upstream_tries 3;\n"
      : "      grpc_next_upstream error timeout;\n      grpc_next_upstream_tries 3;\n";
    const timeout = r.streaming ? "      grpc_read_timeout 1h;\n      grpc_send_timeout 1h;\n" : "";
    return `    location = ${r.path} {\n      grpc_pass grpcs://${r.service};\n${retry}${timeout}    }`;
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
  http2_max_concurrent_streams 1024;
  keepalive_requests 100000;

  # mTLS to every service, with the edge's own identity (spiffe://shop.local/ns/shop/sa/edge).
  grpc_ssl_certificate ${paths.certDir}/edge.pem;
  grpc_ssl_certificate_key ${paths.certDir}/edge-key.pem;
  grpc_ssl_trusted_certificate ${paths.certDir}/ca.pem;
  grpc_ssl_verify on;
  grpc_ssl_name localhost;
  grpc_ssl_session_reuse on;
  grpc_connect_timeout 2s;
  grpc_read_timeout 60s;
  grpc_next_upstream_timeout 5s;

${upstreams.join("\n")}
  upstream reflector {
    server 127.0.0.1:${reflector.port};
    keepalive 8;
  }

  server {
    listen ${topology.edge.host}:${topology.edge.port} http2;

${locations.join("\n")}
    # Reflection knows every service; health here is the edge's own view of the mesh.
    location ^~ /grpc.reflection. {
      grpc_pass grpcs://reflector;
    }
    location ^~ /grpc.health.v1.Health/ {
      grpc_pass grpcs://reflector;
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
