export * from './envelope.ts';
export * from './user.ts';
export * from './dead-letter.ts';

import { userEvents } from './user.ts';

/** Every event this platform defines: for schema export and for checking topics at subscribe. */
export const eventDefinitions = [...userEvents] as const;
