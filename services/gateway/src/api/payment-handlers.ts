import { adminPaymentRoutes, paymentRoutes, type paymentRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

/** REST → RPC for the payment service's rider and operator routes: each route is one call. */
export function registerPaymentRoutes(app: HttpServer, deps: PublicRouteDeps, payment: RpcClient<typeof paymentRpc.methods>): void {
  registerPublicRoute(app, paymentRoutes.listMethods, deps, ({ query, ctx }) => payment.ListPaymentMethods(query, ctx));
  registerPublicRoute(app, paymentRoutes.addMethod, deps, ({ body, ctx }) => payment.AddPaymentMethod(body, ctx));
  registerPublicRoute(app, paymentRoutes.removeMethod, deps, async ({ params, ctx }) => {
    await payment.RemovePaymentMethod({ paymentMethodId: params.id }, ctx);
    return null;
  });
  // A rider's own: the service ignores a rider's riderId filter, so none is passed.
  registerPublicRoute(app, paymentRoutes.list, deps, ({ query, ctx }) => payment.ListPayments(query, ctx));
  registerPublicRoute(app, paymentRoutes.get, deps, ({ params, ctx }) => payment.GetPayment({ paymentId: params.id }, ctx));

  registerPublicRoute(app, adminPaymentRoutes.list, deps, ({ query, ctx }) => payment.ListPayments(query, ctx));
  registerPublicRoute(app, adminPaymentRoutes.get, deps, ({ params, ctx }) => payment.GetPayment({ paymentId: params.id }, ctx));
  // The edge's Idempotency-Key answers a client's retry; the request id keys the processor's
  // refund so that the gateway's own RPC retries of this request refund once too.
  registerPublicRoute(app, adminPaymentRoutes.refund, deps, ({ params, body, ctx }) =>
    payment.Refund({ paymentId: params.id, ...body, idempotencyKey: `gateway:${ctx.requestId}` }, ctx),
  );
  registerPublicRoute(app, adminPaymentRoutes.checkLedger, deps, ({ ctx }) => payment.CheckLedger({}, ctx));
  // Failed fees: the retry is idempotent in the payment service itself (a charged fee answers as
  // it is), the edge's Idempotency-Key answers a client's repeat with the first response.
  registerPublicRoute(app, adminPaymentRoutes.listFeeCharges, deps, ({ query, ctx }) => payment.ListFeeCharges(query, ctx));
  registerPublicRoute(app, adminPaymentRoutes.retryFeeCharge, deps, ({ params, ctx }) => payment.RetryFeeCharge({ feeChargeId: params.id }, ctx));
  registerPublicRoute(app, adminPaymentRoutes.waiveFeeCharge, deps, ({ params, body, ctx }) => payment.WaiveFeeCharge({ feeChargeId: params.id, reason: body.reason }, ctx));
}
