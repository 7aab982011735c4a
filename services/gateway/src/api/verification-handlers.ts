import { adminReviewRoutes, profileRoutes, type profileRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

/** REST → RPC for the profile service's public and admin routes: each route is one call. */
export function registerVerificationRoutes(app: HttpServer, deps: PublicRouteDeps, profile: RpcClient<typeof profileRpc.methods>): void {
  registerPublicRoute(app, profileRoutes.get, deps, ({ ctx }) => profile.GetMyProfile({}, ctx));
  // The body schema is closed: `status` or review fields in it are a 400 before any call.
  registerPublicRoute(app, profileRoutes.put, deps, ({ body, ctx }) => profile.PutMyProfile(body, ctx));
  registerPublicRoute(app, profileRoutes.delete, deps, ({ ctx }) => profile.DeleteMyProfile({}, ctx));
  registerPublicRoute(app, profileRoutes.createPhotoUpload, deps, ({ body, ctx }) => profile.CreatePhotoUpload(body, ctx));
  registerPublicRoute(app, profileRoutes.submit, deps, ({ ctx }) => profile.Submit({}, ctx));

  registerPublicRoute(app, adminReviewRoutes.queue, deps, ({ query, ctx }) => profile.ListReviewQueue(query, ctx));
  registerPublicRoute(app, adminReviewRoutes.get, deps, ({ params, ctx }) => profile.GetForReview({ userId: params.userId }, ctx));
  registerPublicRoute(app, adminReviewRoutes.approve, deps, ({ params, body, ctx }) => profile.Approve({ userId: params.userId, ...body }, ctx));
  registerPublicRoute(app, adminReviewRoutes.reject, deps, ({ params, body, ctx }) => profile.Reject({ userId: params.userId, ...body }, ctx));
}
