export * from './envelope.ts';
export * from './user.ts';
export * from './dead-letter.ts';
export * from './blob.ts';

import { userEvents } from './user.ts';
import { blobEvents } from './blob.ts';

/** Every event this platform defines: for schema export and for checking topics at subscribe. */
export const eventDefinitions = [...userEvents, ...blobEvents] as const;
