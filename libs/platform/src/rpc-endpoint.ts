import { defaultRpcCallers, type RpcInput, type RpcMethodContract, type RpcMethods, type RpcOutput, type RpcServiceContract } from '@carshare/contracts';
import { observerFor, type Observability } from '@carshare/observability';
import type { FastifySchemaValidationError } from 'fastify';
import type { Caller, CallContext } from './call-context.ts';
import { InvalidArgument, isAppError, PermissionDenied } from './errors.ts';
import { rpcPath } from './rpc-path.ts';
import { laptopServiceKeys, ServiceIdentityVerifier, type ServiceKeyRing } from './rpc-service-identity.ts';
import { lazyTypeBoxValidatorCompiler, serializerFor } from './lazy-schema-compilers.ts';

export type RpcHandler<Input, Output> = (input: Input, ctx: CallContext) => Promise<Output>;

export type RpcHandlers<Methods extends RpcMethods> = {
  [Name in keyof Methods]: RpcHandler<RpcInput<Methods[Name]>, RpcOutput<Methods[Name]>>;
};

export interface RpcServerOptions {
  observability: Observability;
  /**
   * The public keys of the services whose calls it accepts (ADR 0012); the laptop keys when
   * omitted. The composition passes the connector's ring.
   */
  keys?: ServiceKeyRing;
  /**
   * @deprecated Ignored: callers no longer forward the end user's token; the end user arrives in
   * the calling service's signed identity (ADR 0012). Kept so modules that still pass it compile.
   */
  authenticate?: (token: string) => Promise<Caller>;
  /**
   * No caller may ask for more than this; the cap createHttpServer puts on `x-deadline-ms`, applied
   * to in-process calls too. Keep it equal to the server's `maxDeadlineMs` (both default to 60 s).
   */
  maxDeadlineMs?: number;
}

type ValidationResult = { value?: unknown; error?: FastifySchemaValidationError[] };
type ObserveDuration = (seconds: number) => void;

/**
 * One contract method, compiled once, and the server side of every transport: HTTP routes and
 * in-process calls both go through `invoke`, so validation, authentication, the handler, the
 * output's serialisation and the server RED metric cannot differ between them.
 */
export class RpcMethodEndpoint {
  readonly service: string;
  readonly method: string;
  /** The HTTP path, also the route template of server spans and logs on both transports. */
  readonly path: string;
  readonly #handler: RpcHandler<unknown, unknown>;
  readonly #identities: ServiceIdentityVerifier;
  /** The services the contract lets call this method. */
  readonly callers: ReadonlySet<string>;
  // The function fastify itself would run on the body (TypeBox checks, strict: no coercion of JSON).
  // Both compiled on the method's first call and shared with routes of the same schema
  // (lazy-schema-compilers.ts): a start no longer compiles every method of eight services.
  readonly #validate: (value: unknown) => ValidationResult;
  // fast-json-stringify with the options fastify's default serializer compiler uses: the output
  // schema decides what leaves the callee, so unknown fields are dropped on every transport.
  readonly #serialize: (output: unknown) => string;
  readonly #observability: Observability;
  // Most calls end OK: their series is observed without a label lookup (~0.7 µs a call, observerFor).
  #observeOk: ObserveDuration | undefined;

  constructor(
    service: string,
    method: string,
    contract: RpcMethodContract,
    handler: RpcHandler<unknown, unknown>,
    options: RpcServerOptions,
    identities: ServiceIdentityVerifier,
  ) {
    this.service = service;
    this.method = method;
    this.path = rpcPath(service, method);
    this.#handler = handler;
    this.#identities = identities;
    this.callers = new Set(contract.callers ?? defaultRpcCallers);
    this.#validate = lazyTypeBoxValidatorCompiler({ schema: contract.input, method: 'POST', url: this.path, httpPart: 'body' }) as (value: unknown) => ValidationResult;
    this.#serialize = serializerFor(contract.output);
    this.#observability = options.observability;
    this.#observeOk = undefined;
  }

  /**
   * Checks the calling service's signed `identity` (UNAUTHENTICATED when missing, forged, expired
   * or meant for another service; PERMISSION_DENIED when the contract does not list that service
   * for this method), sets the end user it carries as `ctx.caller`, validates `body` against the
   * input schema, runs the handler and serialises its answer by the output schema. Identity comes
   * first: a peer that is not let in learns nothing about the input schema. Throws what went
   * wrong; the transport renders it (one error shape) and logs it once when it was not an AppError.
   */
  async invoke(body: unknown, identity: string | undefined, ctx: CallContext): Promise<string> {
    const started = performance.now();
    let code = 'OK';
    try {
      const verified = this.#identities.verify(identity);
      if (!this.callers.has(verified.service)) {
        throw PermissionDenied('CALLER_NOT_ALLOWED', `${verified.service} may not call ${this.service}.${this.method}`, { caller: verified.service });
      }
      ctx.caller = verified.caller;
      const checked = this.#validate(body);
      if (checked.error) throw validationFailed(checked.error);
      return this.#serialize(await this.#handler(checked.value, ctx));
    } catch (error) {
      code = isAppError(error) ? error.code : 'INTERNAL';
      throw error;
    } finally {
      this.#observe(code, (performance.now() - started) / 1000);
    }
  }

  #observe(code: string, seconds: number): void {
    const duration = this.#observability.metrics.rpcServerDuration;
    if (code !== 'OK') {
      duration.observe({ rpc_service: this.service, rpc_method: this.method, rpc_response_status_code: code }, seconds);
      return;
    }
    this.#observeOk ??= observerFor(duration, { rpc_service: this.service, rpc_method: this.method, rpc_response_status_code: 'OK' });
    this.#observeOk(seconds);
  }
}

/** Every method of one contract, compiled; what a transport's server side dispatches to. */
export class RpcServiceEndpoint<Methods extends RpcMethods = RpcMethods> {
  readonly service: string;
  readonly contract: RpcServiceContract<Methods>;
  readonly observability: Observability;
  readonly maxDeadlineMs: number;
  readonly #methods: Map<string, RpcMethodEndpoint>;

  constructor(contract: RpcServiceContract<Methods>, handlers: RpcHandlers<Methods>, options: RpcServerOptions) {
    this.service = contract.service;
    this.contract = contract;
    this.observability = options.observability;
    this.maxDeadlineMs = options.maxDeadlineMs ?? 60_000;
    const identities = new ServiceIdentityVerifier(contract.service, options.keys ?? laptopServiceKeys());
    this.#methods = new Map(
      Object.entries(contract.methods).map(([name, method]) => [
        name,
        new RpcMethodEndpoint(contract.service, name, method, handlers[name as keyof Methods] as RpcHandler<unknown, unknown>, options, identities),
      ]),
    );
  }

  method(name: string): RpcMethodEndpoint | undefined {
    return this.#methods.get(name);
  }

  methods(): IterableIterator<RpcMethodEndpoint> {
    return this.#methods.values();
  }
}

/**
 * The error fastify's own body validation raised, as an AppError with the body renderError gives
 * a validation failure, so callers see one `VALIDATION_FAILED` shape on every transport.
 */
function validationFailed(problems: readonly FastifySchemaValidationError[]) {
  return InvalidArgument('VALIDATION_FAILED', 'invalid body', {
    part: 'body',
    problems: problems.map((problem) => ({ path: problem.instancePath || '/', message: problem.message ?? problem.keyword ?? 'invalid' })),
  });
}
