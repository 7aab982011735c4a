import type { CarRegistrar, NewCar } from '../car-registrar.ts';

export interface GatewayCarRegistrarOptions {
  /** The gateway's base URL, e.g. http://localhost:8080. */
  apiUrl: string;
  /** An operator's access token, or how to get one (login), fetched again when it expires. */
  credentials: { accessToken: string } | { email: string; password: string };
  /** Per request. */
  timeoutMs?: number;
}

class RegistrationFailed extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Registers cars the way an operator does: `POST /v1/admin/cars` at the gateway with an
 * operator's bearer token. The answer carries the device secret, once (`{ car, deviceSecret }`).
 */
export class GatewayCarRegistrar implements CarRegistrar {
  readonly #options: GatewayCarRegistrarOptions;
  #token: Promise<string> | undefined;

  constructor(options: GatewayCarRegistrarOptions) {
    this.#options = options;
  }

  async register(car: NewCar): Promise<{ carId: string; secret: string }> {
    let answer = await this.#post('/v1/admin/cars', car, await this.#accessToken());
    if (answer.status === 401 && 'email' in this.#options.credentials) {
      this.#token = undefined;
      answer = await this.#post('/v1/admin/cars', car, await this.#accessToken());
    }
    const body = (await answer.json()) as { car?: { id?: unknown }; deviceSecret?: unknown; error?: { code?: string; message?: string } };
    if (answer.status !== 201 && answer.status !== 200) {
      throw new RegistrationFailed(answer.status, `the car service refused car ${car.plate}: ${answer.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`.trim());
    }
    if (typeof body.car?.id !== 'string' || typeof body.deviceSecret !== 'string') throw new Error(`POST /v1/admin/cars answered without a car id and device secret`);
    return { carId: body.car.id, secret: body.deviceSecret };
  }

  #accessToken(): Promise<string> {
    const credentials = this.#options.credentials;
    if ('accessToken' in credentials) return Promise.resolve(credentials.accessToken);
    this.#token ??= (async () => {
      const answer = await this.#post('/v1/auth/login', { email: credentials.email, password: credentials.password });
      const body = (await answer.json()) as { tokens?: { accessToken?: unknown } };
      if (answer.status !== 200 || typeof body.tokens?.accessToken !== 'string') {
        throw new RegistrationFailed(answer.status, `cannot log in as ${credentials.email} at ${this.#options.apiUrl} (${answer.status})`);
      }
      return body.tokens.accessToken;
    })().catch((error: unknown) => {
      this.#token = undefined;
      throw error;
    });
    return this.#token;
  }

  #post(path: string, body: unknown, token?: string): Promise<Response> {
    return fetch(new URL(path, this.#options.apiUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
    });
  }
}
