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

/** Creates a car and returns its id and the device secret, which the car service shows only once. */
export interface CarRegistrar {
  register(car: NewCar): Promise<{ carId: string; secret: string }>;
}
