export * from './envelope.ts';
export * from './user.ts';
export * from './dead-letter.ts';
export * from './profile.ts';
export * from './blob.ts';
export * from './car.ts';
export * from './payment.ts';
export * from './trip.ts';

import { userEvents } from './user.ts';
import { profileEvents } from './profile.ts';
import { blobEvents } from './blob.ts';
import { carEvents } from './car.ts';
import { paymentEvents } from './payment.ts';
import { tripEvents } from './trip.ts';

/** Every event this platform defines: for schema export and for checking topics at subscribe. */
export const eventDefinitions = [...userEvents, ...blobEvents, ...profileEvents, ...carEvents, ...paymentEvents, ...tripEvents] as const;
