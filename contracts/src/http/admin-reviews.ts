import { Type } from 'typebox';
import { ApproveBody, Profile, RejectBody, ReviewCase, ReviewQueuePage, ReviewQueueQuery } from '../rpc/profile.ts';
import { UserId } from '../rpc/user.ts';
import { defineHttpRoute } from './define-http-route.ts';

const ReviewParams = Type.Object({ userId: UserId }, { additionalProperties: false });

/** Operators review licences the OCR could not verify on its own. */
export const adminReviewRoutes = {
  queue: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/reviews',
    summary: 'Submitted licence profiles: pending first, oldest submission first',
    tags: ['admin'],
    access: 'operator',
    querystring: ReviewQueueQuery,
    successStatus: 200,
    response: ReviewQueuePage,
  }),
  get: defineHttpRoute({
    method: 'GET',
    url: '/v1/admin/reviews/:userId',
    summary: 'One profile beside its OCR reading, the problems per field, photo URLs and its history',
    tags: ['admin'],
    access: 'operator',
    params: ReviewParams,
    successStatus: 200,
    response: ReviewCase,
  }),
  approve: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/reviews/:userId/approve',
    summary: 'Verify a pending profile',
    tags: ['admin'],
    access: 'operator',
    params: ReviewParams,
    body: ApproveBody,
    successStatus: 200,
    response: Profile,
  }),
  reject: defineHttpRoute({
    method: 'POST',
    url: '/v1/admin/reviews/:userId/reject',
    summary: 'Reject a pending profile: a reason from the list, free text, notes per field',
    tags: ['admin'],
    access: 'operator',
    params: ReviewParams,
    body: RejectBody,
    successStatus: 200,
    response: Profile,
  }),
} as const;
