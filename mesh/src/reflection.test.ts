// Health and reflection against a real mesh server: a plain grpc-js client (v1 and v1alpha
// reflection, health Check) and, when installed, grpcurl (list, describe, health through reflection).
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Metadata, status, type Client } from "@grpc/grpc-js";
import { CatalogService } from "@shopmesh/gen/shop/catalog/v2/catalog_pb.js";
import { createTestMesh, rawClient, rawUnary, createCatalogFixture, type TestMesh } from "./testing/index.js";
import { serve, type MeshServer } from "./serve.js";

const grpcurl = path.join(import.meta.dirname, "../../.bin/grpcurl");
let mesh: TestMesh;
let server: MeshServer;
let client: Client;

beforeAll(async () => {
  mesh = await createTestMesh();
  server = await serve({ name: "catalog", port: 0, services: [{ service: CatalogService, impl: createCatalogFixture() }], config: mesh.config("catalog") });
  client = rawClient(mesh, server.port, "edge", "catalog");
});

afterAll(async () => {
  client?.close();
  await server?.close(1000);
  mesh?.dispose();
});

/** One reflection request/response over the bidi stream; returns the response's fields by number. */
function reflect(version: "v1" | "v1alpha", field: number, value: string): Promise<Map<number, Uint8Array[]>> {
  const id = (b: Buffer) => b;
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(`/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`, id, id, new Metadata(), { deadline: Date.now() + 5000 });
    call.on("data", (buf: Buffer) => {
      const fields = new Map<number, Uint8Array[]>();
      const r = new BinaryReader(buf);
      while (r.pos < r.len) {
        const [no, wt] = r.tag();
        if (wt === WireType.LengthDelimited) fields.set(no, [...(fields.get(no) ?? []), r.bytes()]);
        else r.skip(wt, no);
      }
      call.end();
      resolve(fields);
    });
    call.on("error", reject);
    call.write(Buffer.from(new BinaryWriter().tag(field, WireType.LengthDelimited).string(value).finish()));
  });
}

function repeatedBytes(msg: Uint8Array, fieldNo: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const r = new BinaryReader(msg);
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === fieldNo && wt === WireType.LengthDelimited) out.push(r.bytes());
    else r.skip(wt, no);
  }
  return out;
}

const text = (u: Uint8Array) => Buffer.from(u).toString("utf8");

describe.each(["v1", "v1alpha"] as const)("reflection %s", (version) => {
  it("lists the hosted services and health", async () => {
    const res = await reflect(version, 7, "");
    const services = repeatedBytes(res.get(6)![0]!, 1).map((s) => text(repeatedBytes(s, 1)[0]!));
    expect(services).toEqual(["grpc.health.v1.Health", "shop.catalog.v2.CatalogService"]);
  });

  it("returns the original descriptors, with dependencies, for a symbol", async () => {
    const res = await reflect(version, 4, "shop.catalog.v2.CatalogService");
    const files = repeatedBytes(res.get(4)![0]!, 1).map((b) => fromBinary(FileDescriptorProtoSchema, b));
    expect(files.map((f) => f.name)).toEqual(["shop/catalog/v2/catalog.proto", "google/protobuf/timestamp.proto", "shop/common/v1/money.proto"]);
    // Fully qualified type references: the reason this is not @grpc/reflection.
    const getProduct = files[0]!.service[0]!.method.find((m) => m.name === "GetProduct")!;
    expect(getProduct.inputType).toBe(".shop.catalog.v2.GetProductRequest");
    const price = files[0]!.messageType.find((m) => m.name === "Product")!.field.find((f) => f.name === "price")!;
    expect(price.typeName).toBe(".shop.common.v1.Money");
  });

  it("finds messages, methods and files by name", async () => {
    for (const [field, value] of [[4, "shop.common.v1.Money"], [4, "shop.catalog.v2.CatalogService.WatchProduct"], [3, "shop/common/v1/money.proto"]] as const) {
      const res = await reflect(version, field, value);
      expect(res.has(4)).toBe(true);
    }
  });

  it("serves google.rpc.BadRequest and ErrorInfo, which error details carry though no contract imports them", async () => {
    for (const symbol of ["google.rpc.BadRequest", "google.rpc.ErrorInfo"]) {
      const res = await reflect("v1", 4, symbol);
      const files = new BinaryReader(res.get(4)![0]!);
      const [, wt] = files.tag();
      expect(wt).toBe(WireType.LengthDelimited);
      expect(fromBinary(FileDescriptorProtoSchema, files.bytes()).name).toBe("google/rpc/error_details.proto");
    }
  });

  it("answers an unknown symbol with a NOT_FOUND error response", async () => {
    const res = await reflect(version, 4, "shop.nope.v1.Nothing");
    const err = res.get(7)![0]!;
    const r = new BinaryReader(err);
    const [no] = r.tag();
    expect(no).toBe(1);
    expect(r.int32()).toBe(status.NOT_FOUND);
  });
});

describe("health", () => {
  const check = (service: string) => rawUnary(client, "/grpc.health.v1.Health/Check", Buffer.from(new BinaryWriter().tag(1, WireType.LengthDelimited).string(service).finish()));
  // HealthCheckResponse is {ServingStatus status = 1}: tag 0x08 then the enum varint (absent = UNKNOWN).
  const statusOf = (buf: Buffer | undefined) => (buf === undefined || buf.length === 0 ? 0 : buf[0] === 0x08 ? buf[1] : -1);

  it("reports SERVING per service and overall, NOT_FOUND for unknown services, NOT_SERVING when told", async () => {
    const overall = await check("");
    expect(overall.code).toBe(0);
    expect(statusOf(overall.response)).toBe(1);
    expect(statusOf((await check("shop.catalog.v2.CatalogService")).response)).toBe(1);
    expect((await check("shop.nope.v1.Nothing")).code).toBe(status.NOT_FOUND);
    server.health.setServing(false);
    expect(statusOf((await check("shop.catalog.v2.CatalogService")).response)).toBe(2);
    server.health.setServing(true);
  });
});

describe("grpcurl", () => {
  const haveGrpcurl = existsSync(grpcurl);
  const run = async (...args: string[]) => {
    const tls = ["-cacert", path.join(mesh.certDir, "ca.pem"), "-cert", path.join(mesh.certDir, "edge.pem"), "-key", path.join(mesh.certDir, "edge-key.pem"),
      "-servername", "catalog"];
    const { stdout } = await promisify(execFile)(grpcurl, [...tls, "-max-time", "5", ...args], { timeout: 10_000 });
    return stdout;
  };
  if (!haveGrpcurl) {
    it.skip(`grpcurl tests skipped: ${grpcurl} is missing (run bash tools/setup.sh)`, () => {});
    return;
  }

  it("lists services through reflection", async () => {
    const out = await run(`127.0.0.1:${server.port}`, "list");
    expect(out.trim().split("\n")).toEqual(["grpc.health.v1.Health", "shop.catalog.v2.CatalogService"]);
  });

  it("describes a service with fully qualified types", async () => {
    const out = await run(`127.0.0.1:${server.port}`, "describe", "shop.catalog.v2.CatalogService");
    expect(out).toContain("rpc GetProduct ( .shop.catalog.v2.GetProductRequest ) returns ( .shop.catalog.v2.GetProductResponse )");
    expect(out).toContain("rpc WatchProduct ( .shop.catalog.v2.WatchProductRequest ) returns ( stream .shop.catalog.v2.WatchProductResponse )");
  });

  it("prints an error's details by name: every type the mesh puts in grpc-status-details-bin resolves", async () => {
    // grpcurl exits non-zero on an error status; what it printed is on the rejection.
    const out = await run("-d", '{"id":""}', `127.0.0.1:${server.port}`, "shop.catalog.v2.CatalogService/GetProduct")
      .then(() => { throw new Error("GetProduct with an empty id succeeded"); }, (e: { stdout: string; stderr: string }) => e.stdout + e.stderr);
    expect(out).toContain("Code: InvalidArgument");
    expect(out).not.toContain("is not recognized");
    expect(out).toContain('"@type": "type.googleapis.com/google.rpc.BadRequest"');
    expect(out).toMatch(/"fieldViolations": \[\s*\{\s*"field": "id",\s*"description": "required"/);
  });

  it("calls health and a public method by name", async () => {
    expect(await run(`127.0.0.1:${server.port}`, "grpc.health.v1.Health/Check")).toContain('"status": "SERVING"');
    expect(await run("-d", '{"id":"p1"}', `127.0.0.1:${server.port}`, "shop.catalog.v2.CatalogService/GetProduct")).toContain('"name": "Mug"');
  });
});
