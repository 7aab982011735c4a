import { haversineM, interpolate, type LatLng } from './geo.ts';
import type { RandomSource } from './seeded-random.ts';

export type StreetClass = 'primary' | 'secondary' | 'residential';

export interface StreetNode extends LatLng {
  id: number;
}

/** A two-way street segment between two intersections. */
export interface StreetEdge {
  id: number;
  from: number;
  to: number;
  lengthM: number;
  streetId: number;
}

/** A named street: the chain of intersections it runs through, in order (some links may be missing). */
export interface Street {
  id: number;
  name: string;
  class: StreetClass;
  speedLimitKph: number;
  nodeIds: readonly number[];
}

export interface Route {
  /** Intersections from start to end, both included. */
  nodeIds: number[];
  /** The edges between consecutive nodes: nodeIds.length - 1 of them. */
  edgeIds: number[];
  lengthM: number;
}

/** A point somewhere along a street, with where it lies on its edge. */
export interface StreetPoint extends LatLng {
  edgeId: number;
  /** Metres from the edge's `from` node. */
  offsetM: number;
}

export interface StreetFeature {
  type: 'Feature';
  geometry: { type: 'LineString'; coordinates: [number, number][] };
  properties: { streetId: number; name: string; class: StreetClass };
}

export interface StreetFeatureCollection {
  type: 'FeatureCollection';
  bbox: [number, number, number, number];
  features: StreetFeature[];
}

interface Link {
  edgeId: number;
  neighbour: number;
}

/**
 * A street graph: intersections, two-way edges, named streets. Immutable once built; routing is
 * A* over edge lengths with the straight-line distance as the (admissible) estimate.
 */
export class StreetNetwork {
  readonly nodes: readonly StreetNode[];
  readonly edges: readonly StreetEdge[];
  readonly streets: readonly Street[];
  readonly #links: Link[][];
  readonly #cumulativeLengthM: Float64Array;
  readonly #edgeByPair = new Map<string, number>();

  constructor(nodes: readonly StreetNode[], edges: readonly StreetEdge[], streets: readonly Street[]) {
    this.nodes = nodes;
    this.edges = edges;
    this.streets = streets;
    this.#links = nodes.map(() => []);
    this.#cumulativeLengthM = new Float64Array(edges.length);
    let total = 0;
    for (const edge of edges) {
      this.#links[edge.from]?.push({ edgeId: edge.id, neighbour: edge.to });
      this.#links[edge.to]?.push({ edgeId: edge.id, neighbour: edge.from });
      this.#edgeByPair.set(pairKey(edge.from, edge.to), edge.id);
      total += edge.lengthM;
      this.#cumulativeLengthM[edge.id] = total;
    }
  }

  get totalLengthM(): number {
    return this.#cumulativeLengthM[this.edges.length - 1] ?? 0;
  }

  node(id: number): StreetNode {
    const node = this.nodes[id];
    if (!node) throw new RangeError(`no node ${id}`);
    return node;
  }

  edge(id: number): StreetEdge {
    const edge = this.edges[id];
    if (!edge) throw new RangeError(`no edge ${id}`);
    return edge;
  }

  street(id: number): Street {
    const street = this.streets[id];
    if (!street) throw new RangeError(`no street ${id}`);
    return street;
  }

  /** The edge joining two nodes, if they are neighbours. */
  edgeBetween(a: number, b: number): StreetEdge | undefined {
    const id = this.#edgeByPair.get(pairKey(a, b));
    return id === undefined ? undefined : this.edges[id];
  }

  neighbours(nodeId: number): readonly number[] {
    return (this.#links[nodeId] ?? []).map((link) => link.neighbour);
  }

  /** Shortest path by length, or undefined when `to` cannot be reached. */
  route(from: number, to: number): Route | undefined {
    this.node(from);
    const target = this.node(to);
    const distance = new Float64Array(this.nodes.length).fill(Infinity);
    const previousEdge = new Int32Array(this.nodes.length).fill(-1);
    const done = new Uint8Array(this.nodes.length);
    const open = new MinHeap();
    distance[from] = 0;
    open.push(from, haversineM(this.node(from), target));
    while (open.size > 0) {
      const current = open.pop();
      if (current === to) break;
      if (done[current]) continue;
      done[current] = 1;
      for (const link of this.#links[current] ?? []) {
        const candidate = (distance[current] as number) + this.edge(link.edgeId).lengthM;
        if (candidate < (distance[link.neighbour] as number)) {
          distance[link.neighbour] = candidate;
          previousEdge[link.neighbour] = link.edgeId;
          open.push(link.neighbour, candidate + haversineM(this.node(link.neighbour), target));
        }
      }
    }
    if (distance[to] === Infinity) return undefined;
    const nodeIds = [to];
    const edgeIds: number[] = [];
    for (let at = to; at !== from; ) {
      const edge = this.edge(previousEdge[at] as number);
      edgeIds.push(edge.id);
      at = edge.from === at ? edge.to : edge.from;
      nodeIds.push(at);
    }
    return { nodeIds: nodeIds.reverse(), edgeIds: edgeIds.reverse(), lengthM: distance[to] as number };
  }

  /** A point uniformly distributed over the length of all streets (so long streets get more cars). */
  randomPoint(random: RandomSource): StreetPoint {
    const at = random() * this.totalLengthM;
    let low = 0;
    let high = this.edges.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#cumulativeLengthM[middle] as number) <= at) low = middle + 1;
      else high = middle;
    }
    const edge = this.edge(low);
    const offsetM = random() * edge.lengthM;
    return { ...this.pointOnEdge(edge.id, offsetM), edgeId: edge.id, offsetM };
  }

  /** Where a point `offsetM` from the edge's `from` node lies. */
  pointOnEdge(edgeId: number, offsetM: number): LatLng {
    const edge = this.edge(edgeId);
    const t = edge.lengthM === 0 ? 0 : Math.min(1, Math.max(0, offsetM / edge.lengthM));
    return interpolate(this.node(edge.from), this.node(edge.to), t);
  }

  randomNode(random: RandomSource): StreetNode {
    return this.node(Math.floor(random() * this.nodes.length));
  }

  /** The intersection closest to a point (a scan: a city has a few thousand). */
  nearestNode(point: LatLng): StreetNode {
    let best: StreetNode | undefined;
    let bestM = Infinity;
    for (const node of this.nodes) {
      const metres = haversineM(point, node);
      if (metres < bestM) {
        best = node;
        bestM = metres;
      }
    }
    if (!best) throw new RangeError('the network has no nodes');
    return best;
  }

  /** [west, south, east, north]. */
  bounds(): [number, number, number, number] {
    let west = Infinity;
    let south = Infinity;
    let east = -Infinity;
    let north = -Infinity;
    for (const node of this.nodes) {
      west = Math.min(west, node.lng);
      east = Math.max(east, node.lng);
      south = Math.min(south, node.lat);
      north = Math.max(north, node.lat);
    }
    return [round6(west), round6(south), round6(east), round6(north)];
  }

  /**
   * The streets as GeoJSON: one LineString per unbroken run of a street (a street whose link is
   * missing becomes two features), so a map draws few long lines rather than thousands of stubs.
   */
  toGeoJson(): StreetFeatureCollection {
    const features: StreetFeature[] = [];
    for (const street of this.streets) {
      let run: number[] = [];
      const flush = () => {
        if (run.length >= 2) {
          features.push({
            type: 'Feature',
            geometry: { type: 'LineString', coordinates: run.map((id) => [round6(this.node(id).lng), round6(this.node(id).lat)]) },
            properties: { streetId: street.id, name: street.name, class: street.class },
          });
        }
        run = [];
      };
      street.nodeIds.forEach((nodeId, index) => {
        const previous = street.nodeIds[index - 1];
        if (previous !== undefined && !this.edgeBetween(previous, nodeId)) flush();
        run.push(nodeId);
      });
      flush();
    }
    return { type: 'FeatureCollection', bbox: this.bounds(), features };
  }

  /** How many nodes each connected part holds, largest first (a routable city has one). */
  components(): number[] {
    const seen = new Uint8Array(this.nodes.length);
    const sizes: number[] = [];
    for (const start of this.nodes) {
      if (seen[start.id]) continue;
      let size = 0;
      const stack = [start.id];
      seen[start.id] = 1;
      while (stack.length > 0) {
        const at = stack.pop() as number;
        size += 1;
        for (const link of this.#links[at] ?? []) {
          if (!seen[link.neighbour]) {
            seen[link.neighbour] = 1;
            stack.push(link.neighbour);
          }
        }
      }
      sizes.push(size);
    }
    return sizes.sort((a, b) => b - a);
  }
}

function pairKey(a: number, b: number): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** A binary heap of node ids by priority; stale entries are skipped by the caller. */
class MinHeap {
  readonly #ids: number[] = [];
  readonly #priorities: number[] = [];

  get size(): number {
    return this.#ids.length;
  }

  push(id: number, priority: number): void {
    const ids = this.#ids;
    const priorities = this.#priorities;
    let index = ids.length;
    ids.push(id);
    priorities.push(priority);
    while (index > 0) {
      const parent = (index - 1) >>> 1;
      if ((priorities[parent] as number) <= priority) break;
      ids[index] = ids[parent] as number;
      priorities[index] = priorities[parent] as number;
      index = parent;
    }
    ids[index] = id;
    priorities[index] = priority;
  }

  pop(): number {
    const ids = this.#ids;
    const priorities = this.#priorities;
    const top = ids[0] as number;
    const lastId = ids.pop() as number;
    const lastPriority = priorities.pop() as number;
    if (ids.length > 0) {
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        if (left >= ids.length) break;
        const right = left + 1;
        const child = right < ids.length && (priorities[right] as number) < (priorities[left] as number) ? right : left;
        if ((priorities[child] as number) >= lastPriority) break;
        ids[index] = ids[child] as number;
        priorities[index] = priorities[child] as number;
        index = child;
      }
      ids[index] = lastId;
      priorities[index] = lastPriority;
    }
    return top;
  }
}
