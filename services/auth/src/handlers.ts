// gRPC adapter of auth: one thin function per RPC, mapping messages to the use cases and back.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { currentUser, UnauthenticatedError } from "@shopmesh/mesh";
import type { AuthService, UserSchema } from "@shopmesh/gen/shop/auth/v1/auth_pb.js";
import type { Auth, PublicUser } from "./domain/auth.js";

function toUser(u: PublicUser): MessageInitShape<typeof UserSchema> {
  return { id: u.id, email: u.email, displayName: u.displayName, roles: u.roles, createTime: timestampFromDate(u.createTime) };
}

/** The AuthService implementation over the auth use cases. */
export function authHandlers(auth: Auth): ServiceImpl<typeof AuthService> {
  return {
    async register(req) {
      const user = await auth.register({ email: req.email, password: req.password, displayName: req.displayName });
      return { user: toUser(user) };
    },
    async login(req) {
      const r = await auth.login({ email: req.email, password: req.password });
      return { accessToken: r.accessToken, refreshToken: r.refreshToken,
        accessTokenExpireTime: timestampFromDate(r.accessTokenExpiresAt), user: toUser(r.user) };
    },
    async refresh(req) {
      const r = await auth.refresh(req.refreshToken);
      return { accessToken: r.accessToken, refreshToken: r.refreshToken,
        accessTokenExpireTime: timestampFromDate(r.accessTokenExpiresAt) };
    },
    async logout(req) {
      await auth.logout(req.refreshToken);
      return {};
    },
    async getUser(req, ctx: HandlerContext) {
      const me = currentUser(ctx);
      // mesh enforces the JWT on GetUser; this guards against a topology that forgot to.
      if (!me) throw new UnauthenticatedError("an access token is required");
      return { user: toUser(await auth.getUser(me.id, req.userId)) };
    },
  };
}
