import { around } from 'geokdbush';
import KDBush from 'kdbush';
import type { CarCategory, FuelType } from '../domain/car.ts';
import type { CarState } from '../domain/car-state.ts';
import { haversineMetres, type LatLng } from '../domain/geo.ts';

/** What Nearby shows of a car, kept in memory. */
export interface NearbyEntry {
  id: string;
  plate: string;
  model: string;
  category: CarCategory;
  seats: number;
  fuelType: FuelType;
  state: CarState;
  position: LatLng;
  energyPct: number;
}

export interface NearbyHit {
  entry: NearbyEntry;
  distanceM: number;
}

/**
 * Nearby search in memory (ADR 0015): a kd-tree (kdbush, static) over the cars' positions as of
 * the last rebuild, plus a map with each car's current state and position. A query asks the tree
 * for candidates within the radius plus `slackM` (how far a car may have moved since the rebuild),
 * then decides with the current position and state: a car claimed a moment ago is never shown.
 * Changes made by this instance apply at once; other instances' changes arrive with the next
 * `replaceAll` from the database (every few seconds).
 */
export class MemoryNearbyIndex {
  readonly #entries = new Map<string, NearbyEntry>();
  #ids: string[] = [];
  #tree: KDBush | undefined;
  #dirty = false;
  readonly #slackM: number;

  constructor(options: { slackM: number }) {
    this.#slackM = options.slackM;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Everything, from the database: the tree is rebuilt over the new positions (~2 ms for 10,000 cars). */
  replaceAll(entries: readonly NearbyEntry[]): void {
    this.#entries.clear();
    for (const entry of entries) this.#entries.set(entry.id, entry);
    this.#rebuild();
  }

  /** A car this instance created: in the tree from the next query on. */
  add(entry: NearbyEntry): void {
    this.#entries.set(entry.id, entry);
    this.#dirty = true;
  }

  /** A change this instance made (state, or a telemetry position); an unknown car waits for the next reload. */
  update(id: string, changes: Partial<Pick<NearbyEntry, 'state' | 'position' | 'energyPct'>>): void {
    const entry = this.#entries.get(id);
    if (entry) this.#entries.set(id, { ...entry, ...changes });
  }

  remove(id: string): void {
    this.#entries.delete(id);
  }

  nearby(center: LatLng, radiusM: number, category: CarCategory | undefined, limit: number): NearbyHit[] {
    if (this.#dirty) this.#rebuild();
    const tree = this.#tree;
    if (!tree) return [];
    const hits: NearbyHit[] = [];
    const wanted = (index: number) => {
      const entry = this.#entries.get(this.#ids[index]!);
      return entry !== undefined && entry.state === 'available' && (category === undefined || entry.category === category);
    };
    // The tree orders by positions as of its last rebuild; twice the asked-for number of
    // candidates, then the current positions decide the distance and the order.
    for (const index of around(tree, center.lng, center.lat, limit * 2 + 8, (radiusM + this.#slackM) / 1000, wanted)) {
      const entry = this.#entries.get(this.#ids[index]!)!;
      const distanceM = haversineMetres(center, entry.position);
      if (distanceM <= radiusM) hits.push({ entry, distanceM });
    }
    hits.sort((a, b) => a.distanceM - b.distanceM || (a.entry.id < b.entry.id ? -1 : 1));
    return hits.slice(0, limit);
  }

  /** Rebuilds the tree over the current positions (the module does it every second or so). */
  rebuild(): void {
    this.#rebuild();
  }

  #rebuild(): void {
    this.#dirty = false;
    const ids = [...this.#entries.keys()];
    if (ids.length === 0) {
      this.#tree = undefined;
      this.#ids = [];
      return;
    }
    const tree = new KDBush(ids.length);
    for (const id of ids) {
      const { position } = this.#entries.get(id)!;
      tree.add(position.lng, position.lat);
    }
    this.#tree = tree.finish();
    this.#ids = ids;
  }
}
