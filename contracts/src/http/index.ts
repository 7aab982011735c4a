export * from './define-http-route.ts';
export * from './errors.ts';
export * from './auth.ts';
export * from './me.ts';
export * from './admin-users.ts';
export * from './admin-faults.ts';
export * from './admin-dead-letters.ts';
export * from './blobs.ts';
export * from './cars.ts';
export * from './admin-cars.ts';
export * from './map.ts';
export * from './live.ts';
export * from './profile.ts';
export * from './admin-reviews.ts';
export * from './payments.ts';
export * from './trips.ts';
export * from './admin-stats.ts';

import { adminCarRoutes } from './admin-cars.ts';
import { adminDeadLetterRoutes } from './admin-dead-letters.ts';
import { adminFaultRoutes } from './admin-faults.ts';
import { adminReviewRoutes } from './admin-reviews.ts';
import { adminUserRoutes } from './admin-users.ts';
import { authRoutes } from './auth.ts';
import { blobRoutes } from './blobs.ts';
import { carRoutes, deviceRoutes } from './cars.ts';
import { mapRoutes } from './map.ts';
import { meRoutes } from './me.ts';
import { adminPaymentRoutes, paymentRoutes } from './payments.ts';
import { profileRoutes } from './profile.ts';
import { tripRoutes } from './trips.ts';

/** Every public route, for OpenAPI export and the typed web client. */
export const publicApi = { auth: authRoutes, me: meRoutes, adminUsers: adminUserRoutes, adminFaults: adminFaultRoutes, adminDeadLetters: adminDeadLetterRoutes, profile: profileRoutes, adminReviews: adminReviewRoutes, map: mapRoutes, cars: carRoutes, adminCars: adminCarRoutes, devices: deviceRoutes, blobs: blobRoutes, payments: paymentRoutes, adminPayments: adminPaymentRoutes, trips: tripRoutes } as const;
