import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateCity, haversineM, seededRandom, type LatLng } from '@carshare/city';
import { SimulatedCar } from './simulated-car.ts';

const city = generateCity({ sizeKm: 3 });

function onSomeStreet(point: LatLng): boolean {
  // On an edge: the two distances to its ends add up to its length.
  return city.edges.some((edge) => Math.abs(haversineM(city.node(edge.from), point) + haversineM(point, city.node(edge.to)) - edge.lengthM) < 0.5);
}

function newCar(seed = 1): { car: SimulatedCar; random: () => number } {
  const random = seededRandom(seed);
  const car = new SimulatedCar('7f0c2a38-8d7e-4a1e-9d51-0f0c4f3a0001', city, city.randomPoint(random), { rangeKm: 400, paceFactor: 1 }, { odometerKm: 1000, energyPct: 80 });
  return { car, random };
}

describe('SimulatedCar', () => {
  it('drives along the streets to its destination, then parks there', () => {
    const { car, random } = newCar();
    const destination = city.randomPoint(random);
    assert.ok(car.driveTo(destination));
    let steps = 0;
    while (car.isDriving && steps < 10_000) {
      car.advance(1_000, random);
      assert.ok(onSomeStreet(car.state), `off the streets at step ${steps}: ${car.state.lat},${car.state.lng}`);
      if (car.isDriving) assert.ok(car.state.speedKph > 0 && car.state.speedKph <= 50 * 1.15 + 1e-9, `speed ${car.state.speedKph}`);
      steps += 1;
    }
    assert.equal(car.state.activity, 'parked');
    assert.equal(car.state.speedKph, 0);
    assert.ok(haversineM(car.state, destination) < 0.5, 'it stops at the destination');
    assert.deepEqual(car.streetPoint().edgeId, destination.edgeId);
  });

  it('counts what it drove on the odometer and drains energy by its range', () => {
    const { car, random } = newCar(2);
    car.driveTo(city.randomPoint(random));
    let pathM = 0;
    let previous: LatLng = { ...car.state };
    while (car.isDriving) {
      car.advance(500, random);
      pathM += haversineM(previous, car.state);
      previous = { ...car.state };
    }
    const drivenKm = car.state.odometerKm - 1000;
    assert.ok(drivenKm > 0.1, `drove ${drivenKm} km`);
    assert.ok(Math.abs(drivenKm - pathM / 1000) < 0.01, 'odometer = distance along the path');
    assert.ok(Math.abs(80 - car.state.energyPct - (drivenKm / 400) * 100) < 1e-6, 'energy drained in proportion to range');
  });

  it('never moves while parked, and stops where it is when locked mid-drive', () => {
    const { car, random } = newCar(3);
    const parkedAt = { ...car.state };
    car.advance(60_000, random);
    assert.deepEqual({ lat: car.state.lat, lng: car.state.lng, odometerKm: car.state.odometerKm }, { lat: parkedAt.lat, lng: parkedAt.lng, odometerKm: parkedAt.odometerKm });
    car.setLocked(false);
    car.driveTo(city.randomPoint(random));
    car.advance(5_000, random);
    car.setLocked(true);
    const stoppedAt = { ...car.state };
    car.advance(60_000, random);
    assert.equal(car.isDriving, false);
    assert.equal(car.state.lat, stoppedAt.lat);
    assert.equal(car.state.speedKph, 0);
  });

  it('does not set off with an empty battery', () => {
    const random = seededRandom(4);
    const car = new SimulatedCar('7f0c2a38-8d7e-4a1e-9d51-0f0c4f3a0002', city, city.randomPoint(random), { rangeKm: 400, paceFactor: 1 }, { odometerKm: 5, energyPct: 1 });
    assert.equal(car.driveTo(city.randomPoint(random)), false);
    assert.equal(car.isDriving, false);
  });

  it('reports a TelemetryReport of its state, with the heading it drives in', () => {
    const { car, random } = newCar(5);
    car.setLocked(false);
    car.driveTo(city.randomPoint(random));
    car.advance(3_000, random);
    const report = car.report(1_767_225_600_000);
    assert.equal(report.v, 1);
    assert.equal(report.locked, false);
    assert.ok(report.speedKph > 0 && report.headingDeg >= 0 && report.headingDeg <= 360);
    assert.equal(report.odometerKm, Math.round(car.state.odometerKm * 1000) / 1000);
  });
});
