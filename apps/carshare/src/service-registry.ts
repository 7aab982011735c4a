import { gatewayDescriptor } from '@carshare/gateway-service';
import { carDescriptor } from '@carshare/car-service';
import { blobDescriptor } from '@carshare/blob-service';
import { profileDescriptor } from '@carshare/profile-service';
import { paymentDescriptor } from '@carshare/payment-service';
import { tripDescriptor } from '@carshare/trip-service';
import { analyticsDescriptor } from '@carshare/analytics-service';
import { ServiceRegistry } from '@carshare/service-kit';
import { userDescriptor } from '@carshare/user-service';

/**
 * Every service of the platform, one line each: the CLI, the embedded platform, the gateway's
 * downstreams and the generated contracts all come from this list (`npm run new-service` adds to it).
 */
export const serviceRegistry = new ServiceRegistry([
  userDescriptor,
  gatewayDescriptor,
  carDescriptor,
  blobDescriptor,
  profileDescriptor,
  paymentDescriptor,
  tripDescriptor,
  analyticsDescriptor,
]);
