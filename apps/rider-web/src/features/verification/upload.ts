import { ApiError } from '@carshare/web-client';

/**
 * PUTs the bytes to the signed URL the API handed out, reporting progress (fetch has no upload
 * progress in browsers, XMLHttpRequest does). The URL is already authorised: no bearer token.
 */
export function uploadWithProgress(
  upload: { url: string; method: 'PUT' | 'GET'; headers: Record<string, string> },
  file: Blob,
  onProgress: (fraction: number) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(upload.method, upload.url);
    for (const [name, value] of Object.entries(upload.headers)) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress(1);
        resolve();
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(request.responseText) as unknown;
      } catch {
        body = undefined;
      }
      const error = (body as { error?: { code?: string; message?: string; traceId?: string } } | undefined)?.error;
      reject(
        new ApiError({
          status: request.status,
          code: error?.code ?? 'UPLOAD_FAILED',
          message: error?.message ?? `the upload answered ${request.status}`,
          ...(error?.traceId ? { traceId: error.traceId } : {}),
        }),
      );
    };
    request.onerror = () => reject(new ApiError({ status: 0, code: 'NETWORK_ERROR', message: 'the upload could not reach the server' }));
    request.ontimeout = () => reject(new ApiError({ status: 0, code: 'REQUEST_TIMEOUT', message: 'the upload took too long' }));
    request.timeout = 120_000;
    request.send(file);
  });
}
