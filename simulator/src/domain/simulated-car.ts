import { bearingDeg, haversineM, interpolate, type LatLng, type RandomSource, type StreetNetwork, type StreetPoint } from '@carshare/city';
import type { TelemetryReport } from '@carshare/contracts';

/** A point to drive to, and the street segment (its two intersections) the car is on on the way. */
interface Waypoint extends LatLng {
  segment: readonly [number, number];
}

export type CarActivity = 'parked' | 'driving';

export interface CarProfile {
  /** Battery or tank range on 100 %: how fast driving drains energy. */
  rangeKm: number;
  /** This driver's share of the speed limit (0.6–1.0): not every car does the same speed. */
  paceFactor: number;
}

export interface SimulatedCarState extends LatLng {
  activity: CarActivity;
  speedKph: number;
  headingDeg: number;
  odometerKm: number;
  energyPct: number;
  locked: boolean;
  /** The street segment the car stands or drives on. */
  segment: readonly [number, number];
  /** What is left of the current drive. */
  path: Waypoint[];
}

/** Below this a car does not set off: nobody rents an empty car, and the box keeps reporting. */
export const minimumEnergyToDrivePct = 3;

/**
 * One car's body, apart from its radio: where it is, how it moves along the streets, what it
 * has used. Pure and synchronous: time and randomness come in as arguments, so a test can drive
 * a car for an hour in a millisecond.
 */
export class SimulatedCar {
  readonly carId: string;
  readonly profile: CarProfile;
  readonly #city: StreetNetwork;
  #state: SimulatedCarState;

  constructor(carId: string, city: StreetNetwork, start: StreetPoint, profile: CarProfile, initial: { odometerKm: number; energyPct: number; locked?: boolean }) {
    this.carId = carId;
    this.#city = city;
    this.profile = profile;
    const edge = city.edge(start.edgeId);
    this.#state = {
      lat: start.lat,
      lng: start.lng,
      activity: 'parked',
      speedKph: 0,
      headingDeg: bearingDeg(city.node(edge.from), city.node(edge.to)),
      odometerKm: initial.odometerKm,
      energyPct: initial.energyPct,
      locked: initial.locked ?? true,
      segment: [edge.from, edge.to],
      path: [],
    };
  }

  get state(): Readonly<SimulatedCarState> {
    return this.#state;
  }

  get isDriving(): boolean {
    return this.#state.activity === 'driving';
  }

  /** Where the car stands, as a point on its street: what a restart starts from. */
  streetPoint(): StreetPoint {
    const [a, b] = this.#state.segment;
    const edge = this.#city.edgeBetween(a, b);
    if (!edge) throw new Error(`car ${this.carId} is on no street (${a}–${b})`);
    return { lat: this.#state.lat, lng: this.#state.lng, edgeId: edge.id, offsetM: Math.min(edge.lengthM, haversineM(this.#city.node(edge.from), this.#state)) };
  }

  setLocked(locked: boolean): void {
    this.#state.locked = locked;
    // Locking ends a drive where the car is: a rider ends the trip, the car stays put.
    if (locked && this.isDriving) this.#park();
  }

  /**
   * Sets off along the streets to a destination: from the nearer end of the current segment,
   * by the shortest route, to the nearer end of the destination's segment, then along it.
   * False when the car cannot go (no energy, or already there).
   */
  driveTo(destination: StreetPoint): boolean {
    if (this.#state.energyPct < minimumEnergyToDrivePct) return false;
    const city = this.#city;
    const [a, b] = this.#state.segment;
    const start = haversineM(this.#state, city.node(a)) <= haversineM(this.#state, city.node(b)) ? a : b;
    const destinationEdge = city.edge(destination.edgeId);
    const options = [
      { end: destinationEdge.from, tailM: destination.offsetM },
      { end: destinationEdge.to, tailM: destinationEdge.lengthM - destination.offsetM },
    ].map(({ end, tailM }) => ({ route: city.route(start, end), tailM }));
    const best = options
      .filter((option) => option.route !== undefined)
      .sort((x, y) => (x.route?.lengthM ?? 0) + x.tailM - ((y.route?.lengthM ?? 0) + y.tailM))[0];
    if (!best?.route) return false;
    const path: Waypoint[] = [{ ...city.node(start), segment: this.#state.segment }];
    for (let index = 1; index < best.route.nodeIds.length; index++) {
      const nodeId = best.route.nodeIds[index] as number;
      path.push({ ...city.node(nodeId), segment: [best.route.nodeIds[index - 1] as number, nodeId] });
    }
    path.push({ lat: destination.lat, lng: destination.lng, segment: [destinationEdge.from, destinationEdge.to] });
    this.#state.path = path.map((waypoint) => ({ lat: waypoint.lat, lng: waypoint.lng, segment: waypoint.segment }));
    this.#state.activity = 'driving';
    return true;
  }

  /** Moves the car on by `elapsedMs` of driving; a parked car stays where it is. */
  advance(elapsedMs: number, random: RandomSource): void {
    const state = this.#state;
    if (!this.isDriving || elapsedMs <= 0) return;
    let remainingM = 0;
    const next = state.path[0];
    if (next) {
      const limitKph = this.#speedLimitKph(next.segment);
      // A little variation per step, so speeds look like traffic rather than a metronome.
      state.speedKph = Math.max(5, limitKph * this.profile.paceFactor * (0.85 + random() * 0.3));
      remainingM = (state.speedKph / 3.6) * (elapsedMs / 1000);
    }
    let travelledM = 0;
    while (remainingM > 0 && state.path.length > 0) {
      const waypoint = state.path[0] as Waypoint;
      const toWaypointM = haversineM(state, waypoint);
      state.segment = waypoint.segment;
      if (toWaypointM > 0.01) state.headingDeg = Math.round(bearingDeg(state, waypoint) * 10) / 10;
      if (toWaypointM <= remainingM) {
        state.lat = waypoint.lat;
        state.lng = waypoint.lng;
        travelledM += toWaypointM;
        remainingM -= toWaypointM;
        state.path.shift();
      } else {
        const point = interpolate(state, waypoint, remainingM / toWaypointM);
        state.lat = point.lat;
        state.lng = point.lng;
        travelledM += remainingM;
        remainingM = 0;
      }
    }
    const km = travelledM / 1000;
    state.odometerKm += km;
    state.energyPct = Math.max(0, state.energyPct - (km / this.profile.rangeKm) * 100);
    if (state.path.length === 0 || state.energyPct <= 0) this.#park();
  }

  /** The report its box would send now, with the position as its GPS sees it. */
  report(now: number, reported: LatLng = this.#state): TelemetryReport {
    const state = this.#state;
    return {
      v: 1,
      ts: now,
      lat: round(reported.lat, 6),
      lng: round(reported.lng, 6),
      speedKph: round(state.speedKph, 1),
      headingDeg: Math.min(360, Math.max(0, round(state.headingDeg, 1))),
      odometerKm: round(state.odometerKm, 3),
      energyPct: round(state.energyPct, 1),
      locked: state.locked,
    };
  }

  #park(): void {
    this.#state.activity = 'parked';
    this.#state.speedKph = 0;
    this.#state.path = [];
  }

  #speedLimitKph(segment: readonly [number, number]): number {
    const edge = this.#city.edgeBetween(segment[0], segment[1]);
    return edge ? this.#city.street(edge.streetId).speedLimitKph : 30;
  }
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
