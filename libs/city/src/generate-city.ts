import { haversineM, offsetByMetres, type LatLng } from './geo.ts';
import { seededRandom, type RandomSource } from './seeded-random.ts';
import { StreetNetwork, type Street, type StreetClass, type StreetEdge, type StreetNode } from './street-network.ts';

export interface CityOptions {
  /** Same seed, same city, on every machine. */
  seed?: number;
  centre?: LatLng;
  /** Width and height of the square city. */
  sizeKm?: number;
  /** Distance between parallel streets. */
  blockM?: number;
  /** How far an intersection may sit from its grid point, as a fraction of a block. */
  jitter?: number;
  /** Share of residential links left out (dead ends, parks, one-block gaps). */
  missingLinkShare?: number;
  /** Diagonal avenues cutting across the grid. */
  diagonals?: number;
}

export const berlinCentre: LatLng = { lat: 52.52, lng: 13.405 };

export const defaultCityOptions = {
  seed: 1,
  centre: berlinCentre,
  sizeKm: 6,
  blockM: 200,
  jitter: 0.18,
  missingLinkShare: 0.07,
  diagonals: 3,
} as const satisfies Required<CityOptions>;

const speedLimitKph: Record<StreetClass, number> = { primary: 50, secondary: 40, residential: 30 };

const nameStems = [
  'Linden', 'Eichen', 'Birken', 'Ahorn', 'Kastanien', 'Rosen', 'Tulpen', 'Schiller', 'Goethe', 'Heine', 'Fontane', 'Brecht',
  'Mozart', 'Bach', 'Händel', 'Humboldt', 'Lessing', 'Kleist', 'Herder', 'Uhland', 'Hölderlin', 'Novalis', 'Eichendorff', 'Storm',
  'Mörike', 'Rilke', 'Kafka', 'Mann', 'Hesse', 'Grimm', 'Dürer', 'Cranach', 'Menzel', 'Liebermann', 'Kollwitz', 'Zille',
  'Planck', 'Einstein', 'Meitner', 'Koch', 'Virchow', 'Helmholtz', 'Siemens', 'Borsig', 'Diesel', 'Benz', 'Zeppelin', 'Lilienthal',
  'Spree', 'Havel', 'Oder', 'Elbe', 'Saale', 'Weser', 'Mosel', 'Neckar', 'Main', 'Lahn', 'Ruhr', 'Ems', 'Isar', 'Inn',
  'Pankow', 'Wedding', 'Moabit', 'Tegel', 'Spandau', 'Köpenick', 'Treptow', 'Lichtenberg', 'Marzahn', 'Steglitz',
];

/**
 * A city in the shape of a real one, made from a seed: a jittered grid of streets (every fifth an
 * avenue), diagonal avenues across it through block centres, and some missing residential links;
 * then any part cut off by those gaps is joined back, so every point can reach every other.
 * Pure and deterministic: the simulator, the gateway's map and the tests all see the same streets.
 */
export function generateCity(options: CityOptions = {}): StreetNetwork {
  const settings = { ...defaultCityOptions, ...options };
  const random = seededRandom(settings.seed);
  const sizeM = settings.sizeKm * 1000;
  const lines = Math.max(2, Math.round(sizeM / settings.blockM) + 1);
  const stepM = sizeM / (lines - 1);
  const names = shuffled(nameStems, random);
  let nameIndex = 0;
  const nextName = (streetClass: StreetClass, diagonal: boolean) => {
    const stem = names[nameIndex % names.length] as string;
    const round = Math.floor(nameIndex / names.length);
    nameIndex += 1;
    const suffix = diagonal ? 'chaussee' : streetClass === 'primary' ? (round % 2 === 0 ? 'allee' : 'damm') : round % 2 === 0 ? 'straße' : 'weg';
    return `${stem}${suffix}${round >= 2 ? ` ${round}` : ''}`;
  };

  const nodes: StreetNode[] = [];
  const gridNode = (column: number, row: number) => column + row * lines;
  for (let row = 0; row < lines; row++) {
    for (let column = 0; column < lines; column++) {
      // The border stays straight so the city has a clean outline; inside, intersections wander.
      const inside = row > 0 && row < lines - 1 && column > 0 && column < lines - 1;
      const eastM = -sizeM / 2 + column * stepM + (inside ? (random() - 0.5) * 2 * settings.jitter * stepM : 0);
      const northM = -sizeM / 2 + row * stepM + (inside ? (random() - 0.5) * 2 * settings.jitter * stepM : 0);
      nodes.push({ id: nodes.length, ...offsetByMetres(settings.centre, eastM, northM) });
    }
  }

  const streets: Street[] = [];
  const gridClass = (index: number): StreetClass => (index % 5 === 0 ? 'primary' : index % 5 === 2 ? 'secondary' : 'residential');
  for (let row = 0; row < lines; row++) {
    const streetClass = gridClass(row);
    streets.push({ id: streets.length, name: nextName(streetClass, false), class: streetClass, speedLimitKph: speedLimitKph[streetClass], nodeIds: range(lines).map((column) => gridNode(column, row)) });
  }
  for (let column = 0; column < lines; column++) {
    const streetClass = gridClass(column);
    streets.push({ id: streets.length, name: nextName(streetClass, false), class: streetClass, speedLimitKph: speedLimitKph[streetClass], nodeIds: range(lines).map((row) => gridNode(column, row)) });
  }

  // A diagonal steps corner → block centre → corner; a centre node is shared, so two diagonals
  // crossing in one block meet at an intersection instead of passing through each other.
  const centres = new Map<number, number>();
  const centreOf = (column: number, row: number) => {
    const key = gridNode(column, row);
    let id = centres.get(key);
    if (id === undefined) {
      const corners = [gridNode(column, row), gridNode(column + 1, row), gridNode(column, row + 1), gridNode(column + 1, row + 1)].map((nodeId) => nodes[nodeId] as StreetNode);
      id = nodes.length;
      nodes.push({ id, lat: average(corners.map((corner) => corner.lat)), lng: average(corners.map((corner) => corner.lng)) });
      centres.set(key, id);
    }
    return id;
  };
  for (let index = 0; index < settings.diagonals; index++) {
    const rising = index % 2 === 0;
    // Start somewhere along the lower part of the western edge, or the upper part for falling ones.
    const startRow = Math.floor(random() * Math.max(1, lines / 3));
    const nodeIds: number[] = [];
    for (let column = 0, row = rising ? startRow : lines - 1 - startRow; column < lines && row >= 0 && row < lines; column++, row += rising ? 1 : -1) {
      nodeIds.push(gridNode(column, row));
      const nextRow = rising ? row + 1 : row - 1;
      if (column + 1 < lines && nextRow >= 0 && nextRow < lines) nodeIds.push(centreOf(column, Math.min(row, nextRow)));
    }
    if (nodeIds.length >= 3) streets.push({ id: streets.length, name: nextName('primary', true), class: 'primary', speedLimitKph: speedLimitKph.primary, nodeIds });
  }

  const candidates: { from: number; to: number; streetId: number; removable: boolean }[] = [];
  for (const street of streets) {
    for (let index = 1; index < street.nodeIds.length; index++) {
      candidates.push({ from: street.nodeIds[index - 1] as number, to: street.nodeIds[index] as number, streetId: street.id, removable: street.class === 'residential' });
    }
  }
  const kept = candidates.filter((candidate) => !(candidate.removable && random() < settings.missingLinkShare));
  const left = candidates.filter((candidate) => !kept.includes(candidate));
  // Join back any part that the gaps cut off (union-find), in a fixed order: still deterministic.
  const parent = nodes.map((node) => node.id);
  const find = (id: number): number => {
    let root = id;
    while (parent[root] !== root) root = parent[root] as number;
    parent[id] = root;
    return root;
  };
  for (const link of kept) parent[find(link.from)] = find(link.to);
  for (const link of left) {
    if (find(link.from) !== find(link.to)) {
      kept.push(link);
      parent[find(link.from)] = find(link.to);
    }
  }

  const edges: StreetEdge[] = kept.map((link, id) => ({ id, from: link.from, to: link.to, streetId: link.streetId, lengthM: haversineM(nodes[link.from] as StreetNode, nodes[link.to] as StreetNode) }));
  return new StreetNetwork(nodes, edges, streets);
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}

function average(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function shuffled<T>(items: readonly T[], random: RandomSource): T[] {
  const copy = [...items];
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [copy[index], copy[other]] = [copy[other] as T, copy[index] as T];
  }
  return copy;
}
