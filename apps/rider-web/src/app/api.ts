import { createWebClient, StorageTokenStore } from '@carshare/web-client';

/**
 * The one API client of the app, same origin (the gateway serves the app; `npm run dev` proxies).
 * The session survives a reload in localStorage; see StorageTokenStore for why that is acceptable
 * under the app's CSP.
 */
export const api = createWebClient({ tokens: new StorageTokenStore(localStorage, 'carshare.rider.session') });
