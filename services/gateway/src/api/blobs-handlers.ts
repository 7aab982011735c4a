import { blobRoutes, maxBlobBytes, type blobRpc } from '@carshare/contracts';
import type { HttpServer, RpcClient } from '@carshare/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { registerPublicRoute, type PublicRouteDeps } from './public-route.ts';

/** The types the blob service accepts; any other body on the upload route is a 415 before it is read. */
const uploadContentTypes = ['image/jpeg', 'image/png', 'image/webp', 'application/pdf'];

const SignedQuery = Type.Object({
  expires: Type.String({ minLength: 1, maxLength: 20 }),
  signature: Type.String({ minLength: 1, maxLength: 200 }),
});

interface SignedRequest {
  Params: { '*': string };
  Querystring: { expires: string; signature: string };
}

/**
 * The files store's signed URLs, `PUT|GET /blobs/<key>?expires&signature`, served here because a
 * browser reaches only the gateway. The signature is the authority (no token: an `<img src>`
 * sends none); the blob service checks it and answers 403 when it is wrong or expired. Only these
 * two methods are ever called without the caller's token, and neither acts for an owner.
 * Bytes cross to the blob service as base64 in the RPC's JSON (ADR 0016). With an S3 store the
 * URLs point at S3 and these routes see no traffic.
 */
function registerSignedObjectRoutes(app: HttpServer, deps: PublicRouteDeps, blob: RpcClient<typeof blobRpc.methods>): void {
  void app.register(async (scope) => {
    // This scope only: the rest of the API stays JSON-only with its small body limit.
    for (const contentType of uploadContentTypes) {
      scope.addContentTypeParser(contentType, { parseAs: 'buffer', bodyLimit: maxBlobBytes }, (_request, body, done) => {
        done(null, body);
      });
    }
    const perIp = async (request: FastifyRequest, reply: FastifyReply) => {
      await deps.rateLimits.beforeBody(reply, undefined, { ip: request.ip, user: undefined });
    };

    scope.put<SignedRequest>('/blobs/*', { bodyLimit: maxBlobBytes, onRequest: perIp, schema: { querystring: SignedQuery } }, async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      // The signed content type is the bare media type; parameters (`; charset=…`) are not part of it.
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      await blob.PutSignedObject({ key: request.params['*'], ...request.query, contentType, contentBase64: body.toString('base64') }, request.ctx);
      return reply.code(204).send();
    });

    scope.get<SignedRequest>('/blobs/*', { onRequest: perIp, schema: { querystring: SignedQuery } }, async (request, reply) => {
      const object = await blob.GetSignedObject({ key: request.params['*'], ...request.query }, request.ctx);
      // Served bytes are data, never a page: no sniffing, no scripts, no framing of other origins.
      void reply
        .header('content-type', object.contentType)
        .header('cache-control', 'private, max-age=60')
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('content-disposition', 'inline');
      return reply.send(Buffer.from(object.contentBase64, 'base64'));
    });
  });
}

/** REST → RPC for the blob service's public routes: each route is one call. */
export function registerBlobsRoutes(app: HttpServer, deps: PublicRouteDeps, blob: RpcClient<typeof blobRpc.methods>): void {
  registerPublicRoute(app, blobRoutes.create, deps, ({ body, ctx }) => blob.CreateUpload(body, ctx));
  registerPublicRoute(app, blobRoutes.complete, deps, ({ params, ctx }) => blob.CompleteUpload({ blobId: params.id }, ctx));
  registerPublicRoute(app, blobRoutes.list, deps, ({ query, ctx }) => blob.ListByOwner(query, ctx));
  registerPublicRoute(app, blobRoutes.get, deps, ({ params, ctx }) => blob.Get({ blobId: params.id }, ctx));
  registerPublicRoute(app, blobRoutes.downloadUrl, deps, ({ params, ctx }) => blob.GetDownloadUrl({ blobId: params.id }, ctx));
  registerPublicRoute(app, blobRoutes.delete, deps, async ({ params, ctx }) => {
    await blob.Delete({ blobId: params.id }, ctx);
    return null;
  });
  registerSignedObjectRoutes(app, deps, blob);
}
