import { PlateTaken, type CarRegistrar, type IssuedCredential, type NewCar } from '../car-registrar.ts';

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

/** Tries of a rotation that lost a race with the car's own reports (the row's version moved on). */
const rotateAttempts = 5;

/**
 * Registers cars the way an operator does: `POST /v1/admin/cars` at the gateway with an
 * operator's bearer token. The answer carries the device secret, once (`{ car, deviceSecret }`).
 * A car that exists already is found by the car list's plate filter (one small read per taken
 * plate, whatever the size of the fleet) and given a new secret through
 * `POST /v1/admin/cars/:id/device-secret`.
 */
export class GatewayCarRegistrar implements CarRegistrar {
  readonly #options: GatewayCarRegistrarOptions;
  #token: Promise<string> | undefined;

  constructor(options: GatewayCarRegistrarOptions) {
    this.#options = options;
  }

  async register(car: NewCar): Promise<IssuedCredential> {
    const answer = await this.#call('POST', '/v1/admin/cars', car);
    const body = (await answer.json()) as { car?: { id?: unknown }; deviceSecret?: unknown; error?: { code?: string; message?: string } };
    if (answer.status === 409 && body.error?.code === 'PLATE_TAKEN') throw new PlateTaken(car.plate);
    if (answer.status !== 201 && answer.status !== 200) throw refused(answer.status, body, `the car service refused car ${car.plate}`);
    if (typeof body.car?.id !== 'string' || typeof body.deviceSecret !== 'string') throw new Error(`POST /v1/admin/cars answered without a car id and device secret`);
    return { carId: body.car.id, secret: body.deviceSecret };
  }

  async adopt(plate: string): Promise<IssuedCredential | undefined> {
    const carId = await this.#carWithPlate(plate);
    if (carId === undefined) return undefined;
    for (let attempt = 1; ; attempt++) {
      const answer = await this.#call('POST', `/v1/admin/cars/${encodeURIComponent(carId)}/device-secret`);
      const body = (await answer.json()) as { car?: { id?: unknown }; deviceSecret?: unknown; error?: { code?: string; message?: string } };
      if (answer.status === 200 && typeof body.deviceSecret === 'string') return { carId, secret: body.deviceSecret };
      if (answer.status === 409 && body.error?.code === 'VERSION_MISMATCH' && attempt < rotateAttempts) continue;
      throw refused(answer.status, body, `the car service would not issue a new secret for car ${plate} (${carId})`);
    }
  }

  async #carWithPlate(plate: string): Promise<string | undefined> {
    const answer = await this.#call('GET', `/v1/admin/cars?${new URLSearchParams({ plate, limit: '1' }).toString()}`);
    const body = (await answer.json()) as { items?: Array<{ id: string; plate: string }>; error?: { code?: string; message?: string } };
    if (answer.status !== 200 || !Array.isArray(body.items)) throw refused(answer.status, body, `the car service would not look plate ${plate} up`);
    return body.items[0]?.id;
  }

  /** An operator call; a 401 (the token expired) logs in again and repeats it once. */
  async #call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    const answer = await this.#send(method, path, body, await this.#accessToken());
    if (answer.status !== 401 || !('email' in this.#options.credentials)) return answer;
    await answer.body?.cancel();
    this.#token = undefined;
    return this.#send(method, path, body, await this.#accessToken());
  }

  #accessToken(): Promise<string> {
    const credentials = this.#options.credentials;
    if ('accessToken' in credentials) return Promise.resolve(credentials.accessToken);
    this.#token ??= (async () => {
      const answer = await this.#send('POST', '/v1/auth/login', { email: credentials.email, password: credentials.password });
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

  #send(method: 'GET' | 'POST', path: string, body: unknown, token?: string): Promise<Response> {
    return fetch(new URL(path, this.#options.apiUrl), {
      method,
      // No body, no content type: fastify refuses an empty JSON body.
      headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
    });
  }
}

function refused(status: number, body: { error?: { code?: string; message?: string } }, what: string): RegistrationFailed {
  return new RegistrationFailed(status, `${what}: ${status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`.trim());
}
