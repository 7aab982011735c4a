import type { deadLetterRpcMethods } from '@carshare/contracts';
import { PermissionDenied, Unauthenticated, isOperator, type CallContext, type RpcHandlers } from '@carshare/platform';
import type { DeadLetterAdmin } from './dead-letter-admin.ts';

function requireOperator(ctx: CallContext): void {
  if (!ctx.caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
  if (!isOperator(ctx.caller)) throw PermissionDenied('OPERATOR_ONLY', 'only operators may handle dead letters');
}

/** The four dead-letter methods every consuming service mounts, the same for each. */
export function deadLetterRpcHandlers(admin: DeadLetterAdmin): RpcHandlers<typeof deadLetterRpcMethods> {
  return {
    ListDeadLetters: async (input, ctx) => {
      requireOperator(ctx);
      return admin.list(input);
    },
    GetDeadLetter: async (input, ctx) => {
      requireOperator(ctx);
      return admin.get(input.id);
    },
    ReplayDeadLetter: async (input, ctx) => {
      requireOperator(ctx);
      ctx.log.info({ deadLetter: input.id }, 'dead letter replayed by operator');
      return admin.replay(input.id);
    },
    DeleteDeadLetter: async (input, ctx) => {
      requireOperator(ctx);
      await admin.delete(input.id);
      ctx.log.info({ deadLetter: input.id }, 'dead letter deleted by operator');
      return {};
    },
  };
}
