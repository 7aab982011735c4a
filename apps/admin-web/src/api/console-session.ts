import { meRoutes, type HttpRouteContract, type RouteResponse } from '@carshare/contracts';
import { ApiError, StorageTokenStore, createWebClient, type CallInput, type SessionEndReason, type WebClient } from '@carshare/web-client';

/** The signed-in operator, as login and /v1/me answer it. */
export interface SignedInUser {
  id: string;
  email: string;
  displayName: string;
  role: 'rider' | 'operator' | 'admin';
}

const storageKeys = { session: 'carshare.admin.session', device: 'carshare.admin.device' } as const;

/** The gateway's answer for a path no route takes: the API behind a screen is not deployed (yet). */
export function isRouteMissing(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && error.code === 'ROUTE_NOT_FOUND';
}

/**
 * One operator's session over the shared web client (silent refresh, deadlines, idempotency
 * keys), plus who is signed in, for React to render.
 *
 * Tokens live in sessionStorage: a reload keeps the operator signed in, closing the tab ends it,
 * and another tab of the rider app on the same origin (localStorage) never shares it. The device
 * token from login goes to localStorage and back on the next login: the user service throttles
 * strangers' guesses apart from the owner's device (ADR 0017).
 */
export class ConsoleSession {
  readonly client: WebClient;
  private currentUser: SignedInUser | undefined;
  private endReason: SessionEndReason | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(baseUrl = '') {
    this.client = createWebClient({ baseUrl, tokens: new StorageTokenStore(sessionStorage, storageKeys.session) });
    this.client.onSessionEnd((reason) => {
      this.endReason = reason;
      this.currentUser = undefined;
      this.notify();
    });
  }

  /** For React's useSyncExternalStore: called whenever the user signs in or out. */
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  snapshot = (): SignedInUser | undefined => this.currentUser;

  /** Why the last session ended on its own (expired, revoked), for the login screen to say. */
  get lastEndReason(): SessionEndReason | undefined {
    return this.endReason;
  }

  get canResume(): boolean {
    return this.client.hasSession();
  }

  async login(email: string, password: string): Promise<SignedInUser> {
    const deviceToken = localStorage.getItem(storageKeys.device) ?? undefined;
    const answer = await this.client.logIn({ email, password, ...(deviceToken ? { deviceToken } : {}) });
    localStorage.setItem(storageKeys.device, answer.deviceToken);
    this.setUser(answer.user);
    return answer.user;
  }

  /** Restores the session of an earlier page load (refreshing its tokens when needed). */
  async resume(): Promise<SignedInUser | undefined> {
    if (!this.client.hasSession()) return undefined;
    const me = await this.client.call(meRoutes.me, {});
    if (!me.user) return undefined;
    this.setUser(me.user);
    return me.user;
  }

  async logout(): Promise<void> {
    await this.client.logOut();
    this.endReason = undefined;
    this.setUser(undefined);
  }

  call<Route extends HttpRouteContract>(route: Route, input: CallInput<Route>): Promise<RouteResponse<Route>> {
    return this.client.call(route, input);
  }

  /** The live feed's WebSocket URL on the page's own origin. */
  liveFeedUrl(path: string): string {
    const url = new URL(path, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }

  private setUser(user: SignedInUser | undefined): void {
    this.currentUser = user ? { id: user.id, email: user.email, displayName: user.displayName, role: user.role } : undefined;
    this.notify();
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
