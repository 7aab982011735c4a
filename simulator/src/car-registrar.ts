/** What the simulator asks of the car service for each new car: the operator's "add a car". */
export interface NewCar {
  plate: string;
  vin: string;
  model: string;
  category: 'small' | 'compact' | 'premium' | 'van';
  seats: number;
  fuelType: 'electric' | 'petrol';
  /** Where it stands when created, so riders find it before its first report. */
  position?: { lat: number; lng: number };
}

/** A device credential the car service issued: the car's id and its secret (shown only once). */
export interface IssuedCredential {
  carId: string;
  secret: string;
}

/**
 * The car service refused a new car because a car with its plate exists: a run before this one
 * made it (and may have lost the secret), so the provisioner adopts it instead of failing.
 */
export class PlateTaken extends Error {
  readonly plate: string;

  constructor(plate: string) {
    super(`a car with plate ${plate} exists`);
    this.plate = plate;
  }
}

export interface CarRegistrar {
  /** Creates a car and returns its id and device secret; throws {@link PlateTaken} when the plate is in use. */
  register(car: NewCar): Promise<IssuedCredential>;
  /**
   * The existing car with this plate, with a newly issued device secret (the old one stops
   * working): the car service never shows a secret twice, so a car whose secret the simulator
   * lost can only be taken back by rotating it. Undefined when no car has the plate.
   */
  adopt(plate: string): Promise<IssuedCredential | undefined>;
}
