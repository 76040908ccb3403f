// gRPC server reflection (grpc.reflection.v1 and v1alpha; same wire format) serving the ORIGINAL
// FileDescriptorProto bytes, so type references stay fully qualified (".shop.common.v1.Money").
// @grpc/reflection re-serializes with relative names, which grpcurl and buf curl reject (docs/architecture.md, "Reflection").
// The messages are tiny, so they are encoded by hand with protobuf-es's wire reader/writer.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema, FileDescriptorSetSchema, type DescriptorProto, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { Server, ServerDuplexStream } from "@grpc/grpc-js";
import { file_google_rpc_error_details } from "@shopmesh/gen/google/rpc/error_details_pb.js";

/** Default FileDescriptorSet of all contracts (gen/shop.binpb, with comments). */
export const defaultDescriptorSetPath = fileURLToPath(new URL("../../gen/shop.binpb", import.meta.url));

/** Reflection options. */
export interface ReflectionOptions {
  /** List every service of the descriptor set, not only the ones this process serves (the edge's target). */
  all?: boolean;
  /** FileDescriptorSet to serve; default gen/shop.binpb, falling back to the generated code's descriptors. */
  descriptorSetPath?: string;
  /** Also describe grpc.health.v1 (default true). */
  health?: boolean;
}

const { OPTIONAL: optional } = FieldDescriptorProto_Label;
const { STRING: tString, ENUM: tEnum } = FieldDescriptorProto_Type;

/** grpc/health/v1/health.proto (Check and Watch), built here because no generated code carries it. */
const healthProto: FileDescriptorProto = create(FileDescriptorProtoSchema, {
  name: "grpc/health/v1/health.proto",
  package: "grpc.health.v1",
  syntax: "proto3",
  messageType: [
    { name: "HealthCheckRequest", field: [{ name: "service", number: 1, label: optional, type: tString, jsonName: "service" }] },
    {
      name: "HealthCheckResponse",
      field: [{ name: "status", number: 1, label: optional, type: tEnum, typeName: ".grpc.health.v1.HealthCheckResponse.ServingStatus", jsonName: "status" }],
      enumType: [{ name: "ServingStatus", value: [{ name: "UNKNOWN", number: 0 }, { name: "SERVING", number: 1 }, { name: "NOT_SERVING", number: 2 }, { name: "SERVICE_UNKNOWN", number: 3 }] }],
    },
  ],
  service: [{
    name: "Health",
    method: [
      { name: "Check", inputType: ".grpc.health.v1.HealthCheckRequest", outputType: ".grpc.health.v1.HealthCheckResponse" },
      { name: "Watch", inputType: ".grpc.health.v1.HealthCheckRequest", outputType: ".grpc.health.v1.HealthCheckResponse", serverStreaming: true },
    ],
  }],
  options: { goPackage: "google.golang.org/grpc/health/grpc_health_v1" },
});

/** The reflection index: files by name, symbols to files, listed services. */
export interface ReflectionIndex {
  /** Service names answered to list_services. */
  services: string[];
  /** File name → serialized FileDescriptorProto. */
  files: Map<string, Uint8Array>;
  /** File name → its direct dependencies. */
  deps: Map<string, string[]>;
  /** Fully qualified symbol → file name. */
  symbols: Map<string, string>;
}

/** Builds the index for the served services (and, with `all`, every service in the descriptor set). */
export function createReflectionIndex(served: readonly DescService[], opts: ReflectionOptions = {}): ReflectionIndex {
  const protos = new Map<string, FileDescriptorProto>();
  const setPath = opts.descriptorSetPath ?? defaultDescriptorSetPath;
  if (existsSync(setPath)) {
    for (const f of fromBinary(FileDescriptorSetSchema, readFileSync(setPath)).file) protos.set(f.name, f);
  }
  // Services outside the set (or no set at all): the generated code embeds its descriptors too.
  const addEmbedded = (file: DescFile) => {
    if (protos.has(file.proto.name)) return;
    protos.set(file.proto.name, file.proto);
    for (const dep of file.dependencies) addEmbedded(dep);
  };
  for (const s of served) addEmbedded(s.file);
  // The types errors carry in grpc-status-details-bin (BadRequest, ErrorInfo): no contract imports
  // them, yet grpcurl and other clients resolve them through reflection to print the details.
  addEmbedded(file_google_rpc_error_details);
  // Health is served by every process; describing it lets grpcurl call Check/Watch by name.
  if (opts.health !== false) protos.set(healthProto.name, healthProto);

  const idx: ReflectionIndex = { services: [], files: new Map(), deps: new Map(), symbols: new Map() };
  for (const [name, f] of protos) {
    idx.files.set(name, toBinary(FileDescriptorProtoSchema, f));
    idx.deps.set(name, f.dependency);
    const pkg = f.package ? `${f.package}.` : "";
    for (const m of f.messageType) indexMessage(idx, name, pkg, m);
    for (const e of f.enumType) idx.symbols.set(pkg + e.name, name);
    for (const s of f.service) {
      idx.symbols.set(pkg + s.name, name);
      for (const m of s.method) idx.symbols.set(`${pkg}${s.name}.${m.name}`, name);
      if (opts.all) idx.services.push(pkg + s.name);
    }
  }
  if (!opts.all) idx.services.push(...served.map((s) => s.typeName));
  if (opts.health !== false && !idx.services.includes("grpc.health.v1.Health")) idx.services.push("grpc.health.v1.Health");
  idx.services.sort();
  return idx;
}

function indexMessage(idx: ReflectionIndex, file: string, prefix: string, m: DescriptorProto): void {
  const full = prefix + m.name;
  idx.symbols.set(full, file);
  for (const f of m.field) idx.symbols.set(`${full}.${f.name}`, file);
  for (const e of m.enumType) idx.symbols.set(`${full}.${e.name}`, file);
  for (const n of m.nestedType) indexMessage(idx, file, `${full}.`, n);
}

/** A decoded ServerReflectionRequest (only the fields we answer). */
interface ReflectionRequest {
  host: string;
  kind: "file_by_filename" | "file_containing_symbol" | "file_containing_extension" | "all_extension_numbers_of_type" | "list_services" | "unknown";
  arg: string;
}

const requestFields: Record<number, ReflectionRequest["kind"]> = {
  3: "file_by_filename", 4: "file_containing_symbol", 5: "file_containing_extension", 6: "all_extension_numbers_of_type", 7: "list_services",
};

function decodeRequest(bytes: Uint8Array): ReflectionRequest {
  const r = new BinaryReader(bytes);
  const req: ReflectionRequest = { host: "", kind: "unknown", arg: "" };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 1 && wt === WireType.LengthDelimited) req.host = r.string();
    else if (no === 5 && wt === WireType.LengthDelimited) {
      // ExtensionRequest {string containing_type = 1; int32 extension_number = 2}: we only need the type.
      const sub = new BinaryReader(r.bytes());
      req.kind = "file_containing_extension";
      while (sub.pos < sub.len) {
        const [sno, swt] = sub.tag();
        if (sno === 1 && swt === WireType.LengthDelimited) req.arg = sub.string();
        else sub.skip(swt, sno);
      }
    } else if (requestFields[no] !== undefined && wt === WireType.LengthDelimited) {
      req.kind = requestFields[no]!;
      req.arg = r.string();
    } else r.skip(wt, no);
  }
  return req;
}

/** Answers one reflection request with ServerReflectionResponse bytes. */
export function answerReflection(idx: ReflectionIndex, raw: Uint8Array): Uint8Array {
  let req: ReflectionRequest;
  try {
    req = decodeRequest(raw);
  } catch {
    req = { host: "", kind: "unknown", arg: "" };
  }
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).string(req.host);
  // original_request is a message field; the raw request bytes are exactly its encoding.
  w.tag(2, WireType.LengthDelimited).bytes(raw);
  const error = (code: number, message: string) => {
    w.tag(7, WireType.LengthDelimited).fork().tag(1, WireType.Varint).int32(code).tag(2, WireType.LengthDelimited).string(message).join();
  };
  const files = (root: string) => {
    w.tag(4, WireType.LengthDelimited).fork();
    for (const name of closure(idx, root)) w.tag(1, WireType.LengthDelimited).bytes(idx.files.get(name)!);
    w.join();
  };
  switch (req.kind) {
    case "list_services":
      w.tag(6, WireType.LengthDelimited).fork();
      for (const s of idx.services) w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(s).join();
      w.join();
      break;
    case "file_by_filename":
      if (idx.files.has(req.arg)) files(req.arg);
      else error(5, `file not found: ${req.arg}`);
      break;
    case "file_containing_symbol": {
      const file = idx.symbols.get(req.arg.replace(/^\./, ""));
      if (file !== undefined) files(file);
      else error(5, `symbol not found: ${req.arg}`);
      break;
    }
    case "file_containing_extension":
      // The contracts declare no extensions.
      error(5, `extension not found in ${req.arg}`);
      break;
    case "all_extension_numbers_of_type":
      if (idx.symbols.has(req.arg)) {
        w.tag(5, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(req.arg).join();
      } else error(5, `type not found: ${req.arg}`);
      break;
    default:
      error(3, "unsupported reflection request");
  }
  return w.finish();
}

/** The file and its transitive dependencies, the file first (what grpcurl expects). */
function closure(idx: ReflectionIndex, root: string): string[] {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !idx.files.has(name)) return;
    seen.add(name);
    for (const d of idx.deps.get(name) ?? []) visit(d);
  };
  visit(root);
  return [...seen];
}

const identity = (b: Buffer) => b;

/** Paths of the reflection services; exposed so access rules can recognize them. */
export const reflectionPaths = [
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/** Registers reflection v1 and v1alpha on a grpc-js server. */
export function addReflection(server: Server, idx: ReflectionIndex): void {
  const handler = (call: ServerDuplexStream<Buffer, Buffer>) => {
    call.on("data", (req: Buffer) => {
      const res = answerReflection(idx, req);
      call.write(Buffer.from(res.buffer, res.byteOffset, res.byteLength));
    });
    call.on("end", () => call.end());
    // A client that goes away mid-stream is normal; nothing to clean up.
    call.on("error", () => {});
  };
  for (const p of reflectionPaths) server.register(p, handler, identity, identity, "bidi");
}
