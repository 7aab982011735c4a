import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateCity } from './generate-city.ts';
import { haversineM } from './geo.ts';
import { seededRandom } from './seeded-random.ts';

const city = generateCity();

describe('generateCity', () => {
  it('makes a city of the asked size around the asked centre', () => {
    const [west, south, east, north] = city.bounds();
    const widthM = haversineM({ lat: 52.52, lng: west }, { lat: 52.52, lng: east });
    const heightM = haversineM({ lat: south, lng: 13.405 }, { lat: north, lng: 13.405 });
    assert.ok(Math.abs(widthM - 6000) < 60, `width ${widthM}`);
    assert.ok(Math.abs(heightM - 6000) < 60, `height ${heightM}`);
    assert.ok(Math.abs((south + north) / 2 - 52.52) < 0.001);
    assert.ok(Math.abs((west + east) / 2 - 13.405) < 0.001);
    assert.ok(city.nodes.length > 900 && city.edges.length > 1700, `${city.nodes.length} nodes, ${city.edges.length} edges`);
  });

  it('is one connected network although some links are missing', () => {
    const gridLinks = 2 * 31 * 30;
    assert.ok(city.edges.filter((edge) => city.street(edge.streetId).class === 'residential').length < gridLinks, 'some links are left out');
    assert.deepEqual(city.components().length, 1);
  });

  it('joins back parts cut off even when half of the side streets are missing', () => {
    for (const seed of [1, 2, 3]) {
      const sparse = generateCity({ seed, sizeKm: 2, missingLinkShare: 0.5 });
      assert.deepEqual(sparse.components(), [sparse.nodes.length], `seed ${seed}`);
    }
  });

  it('has avenues, side streets and diagonals, each street named', () => {
    const classes = new Set(city.streets.map((street) => street.class));
    assert.deepEqual([...classes].sort(), ['primary', 'residential', 'secondary']);
    assert.equal(city.streets.filter((street) => street.name.endsWith('chaussee')).length, 3);
    assert.equal(new Set(city.streets.map((street) => street.name)).size, city.streets.length, 'names are unique');
  });

  it('gives the same city for the same seed and another for another seed', () => {
    assert.deepEqual(JSON.stringify(generateCity().toGeoJson()), JSON.stringify(city.toGeoJson()));
    assert.notDeepEqual(JSON.stringify(generateCity({ seed: 2 }).toGeoJson()), JSON.stringify(city.toGeoJson()));
  });

  it('centres on another city when asked', () => {
    const hamburg = generateCity({ centre: { lat: 53.55, lng: 9.99 }, sizeKm: 2 });
    const [west, south, east, north] = hamburg.bounds();
    assert.ok(Math.abs((south + north) / 2 - 53.55) < 0.001 && Math.abs((west + east) / 2 - 9.99) < 0.001);
    assert.equal(hamburg.components().length, 1);
  });
});

describe('StreetNetwork.route', () => {
  it('follows edges from start to end, and no route is shorter than the straight line', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 50; trial++) {
      const from = city.randomNode(random).id;
      const to = city.randomNode(random).id;
      const route = city.route(from, to);
      assert.ok(route, `route ${from} → ${to}`);
      assert.equal(route.nodeIds[0], from);
      assert.equal(route.nodeIds.at(-1), to);
      assert.equal(route.edgeIds.length, route.nodeIds.length - 1);
      let lengthM = 0;
      route.edgeIds.forEach((edgeId, index) => {
        const edge = city.edge(edgeId);
        const ends = [route.nodeIds[index], route.nodeIds[index + 1]].sort();
        assert.deepEqual([edge.from, edge.to].sort(), ends, 'each step is an edge between consecutive nodes');
        lengthM += edge.lengthM;
      });
      assert.ok(Math.abs(lengthM - route.lengthM) < 1e-6);
      assert.ok(route.lengthM >= haversineM(city.node(from), city.node(to)) - 1e-6);
    }
  });

  it('is the shortest: never longer than a breadth-first walk over the same edges', () => {
    // Dijkstra without the estimate, as the reference the A* result must match.
    const from = 0;
    const distance = new Map<number, number>([[from, 0]]);
    const queue = [from];
    while (queue.length > 0) {
      queue.sort((a, b) => (distance.get(a) as number) - (distance.get(b) as number));
      const at = queue.shift() as number;
      for (const next of city.neighbours(at)) {
        const candidate = (distance.get(at) as number) + (city.edgeBetween(at, next)?.lengthM as number);
        if (candidate < (distance.get(next) ?? Infinity)) {
          if (!distance.has(next)) queue.push(next);
          distance.set(next, candidate);
        }
      }
    }
    for (const to of [1, 100, 480, 960, city.nodes.length - 1]) {
      assert.ok(Math.abs((city.route(from, to)?.lengthM as number) - (distance.get(to) as number)) < 1e-6, `to ${to}`);
    }
  });

  it('routes a node to itself as a single point', () => {
    assert.deepEqual(city.route(5, 5), { nodeIds: [5], edgeIds: [], lengthM: 0 });
  });
});

describe('StreetNetwork.randomPoint', () => {
  it('lies on the edge it names, and is reproducible from the seed', () => {
    const points = Array.from({ length: 200 }, ((random) => () => city.randomPoint(random))(seededRandom(3)));
    for (const point of points) {
      const edge = city.edge(point.edgeId);
      const alongM = haversineM(city.node(edge.from), point) + haversineM(point, city.node(edge.to));
      assert.ok(Math.abs(alongM - edge.lengthM) < 0.5, 'on the segment');
      assert.ok(Math.abs(haversineM(city.node(edge.from), point) - point.offsetM) < 0.5);
    }
    const again = seededRandom(3);
    assert.deepEqual(city.randomPoint(again), points[0]);
  });

  it('finds the nearest intersection', () => {
    const node = city.node(123);
    assert.equal(city.nearestNode({ lat: node.lat + 0.00001, lng: node.lng }).id, 123);
  });
});

describe('StreetNetwork.toGeoJson', () => {
  it('is a FeatureCollection of named LineStrings in [lng, lat] covering every edge', () => {
    const geoJson = city.toGeoJson();
    assert.equal(geoJson.type, 'FeatureCollection');
    let segments = 0;
    for (const feature of geoJson.features) {
      assert.equal(feature.geometry.type, 'LineString');
      assert.ok(feature.geometry.coordinates.length >= 2);
      assert.ok(feature.properties.name.length > 0);
      for (const [lng, lat] of feature.geometry.coordinates) {
        assert.ok(lng > 13.3 && lng < 13.5 && lat > 52.48 && lat < 52.56);
      }
      segments += feature.geometry.coordinates.length - 1;
    }
    assert.equal(segments, city.edges.length);
  });
});
