// Contract rules that buf lint cannot express. Run over a FileDescriptorSet (gen/shop.binpb) by
// contracts.test.ts; they decide the retry policy, so they must hold for every shop RPC.
import {
  type FileDescriptorProto,
  type FileDescriptorSet,
  MethodOptions_IdempotencyLevel,
} from "@bufbuild/protobuf/wkt";

/** Read methods, by name: these must be marked NO_SIDE_EFFECTS. */
const READ_METHOD = /^(Get|BatchGet|List|Search|Watch)[A-Z]/;
/** shop.<name>.v<N>, optionally with an alpha or beta suffix. */
const VERSIONED_PACKAGE = /^shop\.[a-z0-9_]+\.v[0-9]+((alpha|beta)[0-9]*)?$/;

// Field numbers in descriptor.proto, for source locations: FileDescriptorProto.service = 6,
// ServiceDescriptorProto.method = 2.
const SERVICE_FIELD = 6;
const METHOD_FIELD = 2;

/** Lists every rule the contracts break, one line each; empty when all hold. */
export function checkContracts(set: FileDescriptorSet): string[] {
  const problems: string[] = [];
  for (const file of set.file.filter((f) => f.package.startsWith("shop."))) {
    if (!VERSIONED_PACKAGE.test(file.package)) {
      problems.push(`${file.name}: package ${file.package} lacks a version suffix (shop.<name>.vN)`);
    }
    file.service.forEach((service, si) => {
      service.method.forEach((method, mi) => {
        const rpc = `${file.package}.${service.name}.${method.name}`;
        const comment = leadingComment(file, [SERVICE_FIELD, si, METHOD_FIELD, mi]);
        if (comment.trim() === "") {
          problems.push(`${rpc}: has no comment`);
        } else if (!comment.includes("Errors:")) {
          problems.push(`${rpc}: its comment does not list the status codes it returns ("Errors: ...")`);
        } else {
          for (const clause of errorClauses(comment)) {
            const codes = leadingCodes(clause);
            if (codes.length === 0) problems.push(`${rpc}: its Errors: clause "${clause}" does not start with a gRPC code name`);
            for (const c of codes.filter((c) => !GRPC_CODES.has(c))) problems.push(`${rpc}: its Errors: line names ${c}, which is not a gRPC code`);
          }
        }
        const level = method.options?.idempotencyLevel ?? MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN;
        if (READ_METHOD.test(method.name) && level !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
          problems.push(`${rpc}: a read method must be marked idempotency_level = NO_SIDE_EFFECTS`);
        }
      });
    });
  }
  return problems;
}

/**
 * The codes each RPC's `Errors:` line lists, by "package.Service/Method" (the topology's key).
 * The line is everything after "Errors:": clauses split by ";", each starting with its codes
 * ("UNAVAILABLE or DEADLINE_EXCEEDED when ..."); words later in a clause (ErrorInfo reasons) are not codes.
 */
export function listedCodes(set: FileDescriptorSet): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const file of set.file.filter((f) => f.package.startsWith("shop."))) {
    file.service.forEach((service, si) => {
      service.method.forEach((method, mi) => {
        const comment = leadingComment(file, [SERVICE_FIELD, si, METHOD_FIELD, mi]);
        out.set(`${file.package}.${service.name}/${method.name}`, new Set(errorClauses(comment).flatMap(leadingCodes)));
      });
    });
  }
  return out;
}

/** The 16 gRPC status codes but OK, by their canonical names. */
export const GRPC_CODES = new Set(["CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
  "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]);

/**
 * Codes the runtime may answer for any RPC, so an `Errors:` line need not list them
 * (docs/architecture.md, "The error map"): the caller's identity is not allowed (PERMISSION_DENIED),
 * the server sheds load or the message is too large (RESOURCE_EXHAUSTED), the server drains or a
 * dependency is down (UNAVAILABLE), the deadline passes (DEADLINE_EXCEEDED), the caller leaves
 * (CANCELLED), and a bug (INTERNAL, never for bad input). Every other code a handler returns is listed.
 */
export const IMPLICIT_CODES = new Set(["PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "INTERNAL"]);

function errorClauses(comment: string): string[] {
  const at = comment.indexOf("Errors:");
  if (at < 0) return [];
  return comment.slice(at + "Errors:".length).replace(/\s+/g, " ").trim().replace(/\.$/, "").split(";")
    .map((c) => c.trim()).filter((c) => c !== "");
}

/** The code names a clause starts with: "A", "A or B", "A, B and C", "A/B". */
function leadingCodes(clause: string): string[] {
  const head = /^[A-Z][A-Z_]*(?:\s*(?:,|\/|\bor\b|\band\b)\s*[A-Z][A-Z_]*)*(?!\w)/.exec(clause);
  return head ? head[0].split(/\s*(?:,|\/|\bor\b|\band\b)\s*/) : [];
}

function leadingComment(file: FileDescriptorProto, path: number[]): string {
  const location = file.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]),
  );
  return location?.leadingComments ?? "";
}
