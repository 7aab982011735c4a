import type { Static, TSchema } from 'typebox';

export interface RpcMethodContract<Input extends TSchema = TSchema, Output extends TSchema = TSchema> {
  readonly input: Input;
  readonly output: Output;
  /** Safe to repeat with the same input: only these are retried by clients. */
  readonly idempotent: boolean;
  /** Domain reasons this method may fail with (`USER_NOT_FOUND`, …). */
  readonly errors: readonly string[];
  readonly summary: string;
  /**
   * Services allowed to call this method, by name (their signed service identity, ADR 0012);
   * any other caller is refused with PERMISSION_DENIED. Omitted: `defaultRpcCallers`.
   */
  readonly callers?: readonly string[];
}

/** Who may call a method that does not say: the public front door only. */
export const defaultRpcCallers: readonly string[] = ['gateway'];

export type RpcMethods = Record<string, RpcMethodContract>;

export interface RpcServiceContract<Methods extends RpcMethods = RpcMethods> {
  readonly service: string;
  readonly methods: Methods;
}

export function defineRpcService<const Methods extends RpcMethods>(
  service: string,
  methods: Methods,
): RpcServiceContract<Methods> {
  return { service, methods };
}

export type RpcInput<Method extends RpcMethodContract> = Static<Method['input']>;
export type RpcOutput<Method extends RpcMethodContract> = Static<Method['output']>;
