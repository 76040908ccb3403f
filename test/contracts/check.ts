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

function leadingComment(file: FileDescriptorProto, path: number[]): string {
  const location = file.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]),
  );
  return location?.leadingComments ?? "";
}
