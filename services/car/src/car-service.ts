import { CarCommand, CarCommandAcked, CarCreated, CarSearched, CarStateChanged, isStaff, searchSessionIntervalMs, type CommandAck, type EventEnvelope } from '@carshare/contracts';
import { Conflict, DeadlineExceeded, InvalidArgument, NotFound, PermissionDenied, Unauthenticated, isUuid, type Caller } from '@carshare/platform';
import { decodeCursor, encodeCursor } from '@carshare/storage';
import { newCar, normalizePlate, type Car, type CarCategory, type NewCarInput } from './domain/car.ts';
import { nextState, type CarMove, type CarState } from './domain/car-state.ts';
import { boundingBox, haversineMetres } from './domain/geo.ts';
import type { TelemetryPoint } from './domain/telemetry.ts';
import type { NearbyHit } from './adapters/memory-nearby-index.ts';
import type { CarChanges, CarListSort, CarServicePorts, CarTransaction, CommandOutcome, SettleMove, StoredCommand } from './ports.ts';

export interface CarPage {
  items: Car[];
  nextCursor: string | null;
}

export type NearbyResult = NearbyHit;

export interface ListCarsInput {
  limit: number;
  cursor?: string | undefined;
  state?: CarState | undefined;
  category?: CarCategory | undefined;
  lowBatteryBelowPct?: number | undefined;
  offline?: boolean | undefined;
  plate?: string | undefined;
  sort?: CarListSort | undefined;
}

export interface UpdateCarInput {
  carId: string;
  expectedVersion?: number | undefined;
  plate?: string | undefined;
  model?: string | undefined;
  category?: CarCategory | undefined;
  seats?: number | undefined;
  homeZone?: string | null | undefined;
  trackerId?: string | null | undefined;
}

/** Where a use case was called from, so the events it records join the caller's trace. */
export interface Origin {
  traceparent?: string;
}

function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw Unauthenticated('AUTHENTICATION_REQUIRED', 'sign in first');
  return caller;
}

function requireStaff(caller: Caller | undefined): Caller {
  const actor = requireCaller(caller);
  if (!isStaff(actor.role)) throw PermissionDenied('OPERATOR_ONLY', 'only operators may do this');
  return actor;
}

function carNotFound(carId: string): Error {
  return NotFound('CAR_NOT_FOUND', `no car ${carId}`, { carId });
}

function invalidTransition(car: Car, move: CarMove): Error {
  return Conflict('INVALID_CAR_TRANSITION', `a car that is ${car.state} cannot ${move}`, { carId: car.id, current: car.state });
}

const commandMoves = {
  unlock: { begin: 'beginUnlock', confirmed: 'unlockConfirmed', failed: 'unlockFailed' },
  lock: { begin: 'beginLock', confirmed: 'lockConfirmed', failed: 'lockFailed' },
} as const satisfies Record<'lock' | 'unlock', Record<string, CarMove>>;

/** Waiters for command outcomes in this instance, by command id. */
class CommandWaiters {
  readonly #waiting = new Map<string, (outcome: CommandOutcome | 'timeout') => void>();

  wait(commandId: string, ms: number, scheduler: CarServicePorts['scheduler']): Promise<CommandOutcome | 'timeout'> {
    return new Promise((resolve) => {
      const timer = scheduler.setTimeout(() => this.settle(commandId, 'timeout'), Math.max(0, ms));
      this.#waiting.set(commandId, (outcome) => {
        scheduler.clearTimeout(timer);
        resolve(outcome);
      });
    });
  }

  settle(commandId: string, outcome: CommandOutcome | 'timeout'): void {
    const resolve = this.#waiting.get(commandId);
    if (!resolve) return;
    this.#waiting.delete(commandId);
    resolve(outcome);
  }

  get size(): number {
    return this.#waiting.size;
  }
}

export type CarService = ReturnType<typeof createCarService>;

/** Logged and counted by the module: an answer nobody waits for any more. */
export interface CarServiceHooks {
  ignoredAck?(carId: string, ack: CommandAck, why: 'unknown_or_settled' | 'late'): void;
  /** A search session could not be recorded: the search still answers, the next search tries again. */
  searchNotRecorded?(error: unknown): void;
}

/** Riders remembered at once for search sessions: past it, expired sessions are forgotten first. */
const maxSearchSessions = 100_000;

export function createCarService(ports: CarServicePorts, hooks: CarServiceHooks = {}) {
  const { cars, commands, unitOfWork, events, devices, secrets, nearbyIndex, clock, scheduler, ids, settings } = ports;
  const waiters = new CommandWaiters();
  // Rider id → when their search session began (ADR 0026): one outbox row per session, not per search.
  const searchSessions = new Map<string, number>();
  devices.onSettled((commandId, outcome) => waiters.settle(commandId, outcome));

  async function load(carId: string): Promise<Car> {
    const car = await cars.find(carId);
    if (!car) throw carNotFound(carId);
    return car;
  }

  /**
   * Applies `move` to the car as it was read (state and version), records car.state_changed in
   * the same transaction, and answers undefined when another writer got there first.
   */
  async function transition(
    tx: CarTransaction,
    car: Car,
    move: CarMove,
    reason: string,
    changes: CarChanges,
    origin: Origin,
  ): Promise<Car | undefined> {
    const to = nextState(car.state, move);
    if (to === undefined) throw invalidTransition(car, move);
    const updated = await tx.cars.updateIfVersion(car.id, car.version, { ...changes, state: to }, clock.now());
    if (!updated) return undefined;
    // Before the commit: a rollback leaves the index wrong until its next reload (seconds), and
    // Claim decides on the row, never on the index.
    nearbyIndex.update(car.id, { state: to });
    await tx.events.add(
      events.create(
        CarStateChanged,
        car.id,
        { carId: car.id, from: car.state, to, reservationId: updated.reservationId ?? car.reservationId, reason, version: updated.version },
        origin,
      ),
    );
    return updated;
  }

  /**
   * `move` from `from` with its car.state_changed event (and `command` with its own event), all
   * one statement (UnitOfWork.move); `hold.reservationId` is the hold after the move, which the
   * event names. Undefined when the car was not in `from` (or not held for `hold.heldFor`).
   */
  async function recordedMove(
    carId: string,
    from: CarState,
    move: CarMove,
    reason: string,
    hold: { heldFor?: string; reservationId: string },
    origin: Origin,
    command?: StoredCommand,
    commandEvent?: EventEnvelope,
  ): Promise<Car | undefined> {
    const to = nextState(from, move);
    if (to === undefined) throw new Error(`${move} does not start from ${from}`);
    // The version is the moved row's: the statement writes it into the event.
    const changed = events.create(CarStateChanged, carId, { carId, from, to, reservationId: hold.reservationId, reason, version: 0 }, origin);
    const moved = await unitOfWork.move({
      carId,
      from,
      to,
      ...(hold.heldFor !== undefined && { heldFor: hold.heldFor }),
      reservationId: hold.reservationId,
      now: clock.now(),
      ...(command && { command }),
      events: commandEvent ? [changed, commandEvent] : [changed],
    });
    if (moved) nearbyIndex.update(carId, { state: to });
    return moved;
  }

  /**
   * Settles a sent command of `carId` (the settle statement answers the command, so an ack needs
   * no read of it first) and moves its car on, in one statement (UnitOfWork.settle). Undefined
   * when it was not sent (unknown, settled already) or, for an answer, past its deadline; `car`
   * undefined when the car was deleted.
   */
  async function settleCommand(
    ref: { id: string; carId: string },
    outcome: CommandOutcome,
    origin: Origin,
  ): Promise<{ command: StoredCommand; car: Car | undefined } | undefined> {
    const ack = outcome.status === 'expired' ? undefined : outcome.ack;
    const succeeded = outcome.status === 'acked';
    // Which type the command is, only the settle finds out: each type's move and events go in.
    const sideOf = (type: StoredCommand['type']): SettleMove => {
      const moves = commandMoves[type];
      const from: CarState = type === 'unlock' ? 'unlocking' : 'locking';
      const move = succeeded ? moves.confirmed : moves.failed;
      const to = nextState(from, move);
      if (to === undefined) throw new Error(`${move} does not start from ${from}`);
      const reason = outcome.status === 'acked' ? `${type}_acked` : outcome.status === 'refused' ? 'device_refused' : 'device_did_not_answer';
      return {
        from,
        to,
        // Locked at the end of use: the hold ends with it.
        releases: succeeded && type === 'lock',
        settledEvents: ack
          ? [
              events.create(
                CarCommandAcked,
                ref.carId,
                { carId: ref.carId, commandId: ref.id, type, ok: ack.ok, locked: ack.locked, ...(ack.error !== undefined && { error: ack.error }) },
                origin,
              ),
            ]
          : [],
        // The statement fills in the version and the hold (the car's, or the command's it ended).
        movedEvents: [events.create(CarStateChanged, ref.carId, { carId: ref.carId, from, to, reservationId: null, reason, version: 0 }, origin)],
      };
    };
    const settled = await unitOfWork.settle({
      commandId: ref.id,
      carId: ref.carId,
      status: outcome.status,
      now: clock.now(),
      error: ack?.error,
      ...(ack && { locked: ack.locked }),
      byType: { unlock: sideOf('unlock'), lock: sideOf('lock') },
    });
    if (!settled) return undefined;
    // The car was deleted meanwhile (only possible when idle), or an operator moved it: nothing undone.
    if (settled.moved && settled.car) nearbyIndex.update(settled.car.id, { state: settled.car.state });
    return { command: settled.command, car: settled.car };
  }

  async function sendCommand(type: 'lock' | 'unlock', input: { carId: string; reservationId: string }, caller: Caller | undefined, origin: Origin): Promise<Car> {
    requireCaller(caller);
    const moves = commandMoves[type];
    const from = type === 'unlock' ? 'reserved' : 'in_use';
    const now = clock.now();
    const command: StoredCommand = {
      id: ids.next(),
      carId: input.carId,
      type,
      reservationId: input.reservationId,
      status: 'sent',
      expiresAt: now + settings.commandTimeoutMs,
      createdAt: now,
    };
    // The move is tried first, conditioned on the state it starts from and the hold: the car is read
    // only when it did not match, to say why.
    const begun = await recordedMove(
      input.carId,
      from,
      moves.begin,
      `${type}_requested`,
      { heldFor: input.reservationId, reservationId: input.reservationId },
      origin,
      command,
      events.create(
        CarCommand,
        input.carId,
        { carId: input.carId, commandId: command.id, type, reservationId: input.reservationId, expiresAt: new Date(command.expiresAt).toISOString() },
        origin,
      ),
    );
    if (!begun) {
      const car = await load(input.carId);
      if (car.reservationId !== input.reservationId) {
        throw PermissionDenied('NOT_YOUR_CAR', 'the car is not held for this reservation', { carId: car.id, current: car.state });
      }
      if (nextState(car.state, moves.begin) === undefined) throw invalidTransition(car, moves.begin);
      throw Conflict('INVALID_CAR_TRANSITION', 'the car changed meanwhile; read it again', { carId: car.id });
    }
    const car = begun;
    // Waiting before sending: a device that answers at once must find its waiter.
    const answer = waiters.wait(command.id, command.expiresAt - clock.now(), scheduler);
    try {
      await devices.sendCommand(car.id, { id: command.id, type, expiresAt: command.expiresAt });
    } catch {
      // Undeliverable now: the deadline still decides, and the car goes back when it passes.
    }
    const outcome = await answer;
    if (outcome === 'timeout') {
      const reverted = (await settleCommand(command, { status: 'expired' }, origin))?.car;
      if (reverted) {
        throw DeadlineExceeded('DEVICE_DID_NOT_ANSWER', `the car did not confirm ${type} in time`, { carId: car.id, commandId: command.id, current: reverted.state });
      }
      // An ack settled it in the same instant: answer what it decided.
      const settled = await commands.find(command.id);
      return answerFor(type, settled, await load(car.id));
    }
    // An ack or a refusal is announced only once its settlement committed: that is the command's
    // status, and the car it carries is the one that settlement wrote.
    if (outcome.status === 'expired') return answerFor(type, await commands.find(command.id), await load(car.id));
    return answerFor(type, outcome, outcome.car ?? (await load(car.id)));
  }

  function answerFor(type: 'lock' | 'unlock', command: Pick<StoredCommand, 'status'> | undefined, car: Car): Car {
    if (command?.status === 'acked') return car;
    if (command?.status === 'refused') throw Conflict('DEVICE_REFUSED', `the car refused to ${type}`, { carId: car.id, current: car.state });
    throw DeadlineExceeded('DEVICE_DID_NOT_ANSWER', `the car did not confirm ${type} in time`, { carId: car.id, current: car.state });
  }

  function sortValueOf(car: Car, sort: CarListSort): string | number {
    if (sort === 'energy_asc') return car.energyPct;
    if (sort === 'plate') return car.plate;
    return car.id;
  }

  function positionOf(cursor: string | undefined, sort: CarListSort): { value: string | number; id: string } | undefined {
    if (cursor === undefined) return undefined;
    let values;
    try {
      values = decodeCursor(cursor);
    } catch {
      throw InvalidArgument('INVALID_CURSOR', 'the cursor is not one this list gave out');
    }
    const [sortName, value, id] = values;
    const valueFits = sort === 'energy_asc' ? typeof value === 'number' : typeof value === 'string';
    if (values.length !== 3 || sortName !== sort || !valueFits || typeof id !== 'string' || !isUuid(id)) {
      throw InvalidArgument('INVALID_CURSOR', 'the cursor is not one this list gave out');
    }
    return { value: value as string | number, id };
  }

  return {
    async createCar(input: NewCarInput, caller: Caller | undefined, origin: Origin = {}): Promise<{ car: Car; deviceSecret: string }> {
      requireStaff(caller);
      const car = newCar(input, ids.next(), clock.now());
      const { secret, hash } = secrets.issue();
      await unitOfWork.run(async (tx) => {
        await tx.cars.insert(car, hash);
        await tx.events.add(
          events.create(
            CarCreated,
            car.id,
            { carId: car.id, plate: car.plate, model: car.model, category: car.category, fuelType: car.fuelType, seats: car.seats, state: car.state },
            origin,
          ),
        );
      });
      if (car.position) {
        nearbyIndex.add({ id: car.id, plate: car.plate, model: car.model, category: car.category, seats: car.seats, fuelType: car.fuelType, state: car.state, position: car.position, energyPct: car.energyPct });
      }
      return { car, deviceSecret: secret };
    },

    async updateCar(input: UpdateCarInput, caller: Caller | undefined): Promise<Car> {
      requireStaff(caller);
      const car = await load(input.carId);
      const expected = input.expectedVersion ?? car.version;
      if (expected !== car.version) throw Conflict('VERSION_MISMATCH', 'the car changed since you read it', { carId: car.id, current: car.version });
      const changes: CarChanges = {
        ...(input.plate !== undefined && { plate: normalizePlate(input.plate) }),
        ...(input.model !== undefined && { model: input.model.trim() }),
        ...(input.category !== undefined && { category: input.category }),
        ...(input.seats !== undefined && { seats: input.seats }),
        ...(input.homeZone !== undefined && { homeZone: input.homeZone }),
        ...(input.trackerId !== undefined && { trackerId: input.trackerId }),
      };
      const updated = await cars.updateIfVersion(car.id, expected, changes, clock.now());
      if (!updated) throw Conflict('VERSION_MISMATCH', 'the car changed since you read it', { carId: car.id });
      return updated;
    },

    async setMaintenance(input: { carId: string; on: boolean }, caller: Caller | undefined, origin: Origin = {}): Promise<Car> {
      requireStaff(caller);
      const car = await load(input.carId);
      if ((car.state === 'maintenance') === input.on) return car;
      const updated = await unitOfWork.run((tx) => transition(tx, car, input.on ? 'startMaintenance' : 'endMaintenance', 'operator', {}, origin));
      if (!updated) throw Conflict('INVALID_CAR_TRANSITION', 'the car changed meanwhile; read it again', { carId: car.id });
      return updated;
    },

    async rotateDeviceSecret(input: { carId: string }, caller: Caller | undefined): Promise<{ car: Car; deviceSecret: string }> {
      requireStaff(caller);
      const car = await load(input.carId);
      const { secret, hash } = secrets.issue();
      const updated = await cars.updateIfVersion(car.id, car.version, { secretHash: hash }, clock.now());
      if (!updated) throw Conflict('VERSION_MISMATCH', 'the car changed meanwhile; try again', { carId: car.id });
      return { car: updated, deviceSecret: secret };
    },

    async deleteCar(input: { carId: string }, caller: Caller | undefined): Promise<Record<string, never>> {
      requireStaff(caller);
      const car = await cars.find(input.carId);
      if (!car) return {};
      if (await cars.deleteIfIdle(car.id)) {
        nearbyIndex.remove(car.id);
      } else {
        const current = await cars.find(car.id);
        if (current) throw Conflict('CAR_NOT_IDLE', `a car that is ${current.state} cannot be deleted`, { carId: car.id, current: current.state });
      }
      return {};
    },

    async getCar(input: { carId: string }, caller: Caller | undefined): Promise<Car> {
      requireCaller(caller);
      return load(input.carId);
    },

    async listCars(input: ListCarsInput, caller: Caller | undefined): Promise<CarPage> {
      requireStaff(caller);
      const sort = input.sort ?? 'newest';
      const items = await cars.list({
        limit: input.limit + 1,
        after: positionOf(input.cursor, sort),
        sort,
        state: input.state,
        category: input.category,
        lowBatteryBelowPct: input.lowBatteryBelowPct,
        offline: input.offline,
        plate: input.plate === undefined ? undefined : normalizePlate(input.plate),
      });
      const hasMore = items.length > input.limit;
      const page = hasMore ? items.slice(0, input.limit) : items;
      const last = page.at(-1);
      return { items: page, nextCursor: hasMore && last ? encodeCursor([sort, sortValueOf(last, sort), last.id]) : null };
    },

    /** Available cars with a position, oldest first (the open-data feed pages through all of them). */
    async availableCars(input: { limit: number; cursor?: string | undefined }): Promise<CarPage> {
      const items = await cars.list({
        limit: input.limit + 1,
        after: positionOf(input.cursor, 'oldest'),
        sort: 'oldest',
        state: 'available',
        category: undefined,
        lowBatteryBelowPct: undefined,
        offline: undefined,
        plate: undefined,
      });
      const hasMore = items.length > input.limit;
      const page = (hasMore ? items.slice(0, input.limit) : items).filter((car) => car.position !== null);
      const last = (hasMore ? items.slice(0, input.limit) : items).at(-1);
      return { items: page, nextCursor: hasMore && last ? encodeCursor(['oldest', last.id, last.id]) : null };
    },

    async claim(input: { carId: string; reservationId: string }, caller: Caller | undefined, origin: Origin = {}): Promise<Car> {
      requireCaller(caller);
      // Only an available car is claimed, by one UPDATE conditioned on it: of racing claims the
      // first moves it out of available and the others match nothing. The car is read only then.
      const claimed = await recordedMove(input.carId, 'available', 'claim', 'claim', { reservationId: input.reservationId }, origin);
      if (claimed) return claimed;
      const current = await load(input.carId);
      // A retried claim of the winner answers the car again rather than failing its own retry.
      if (current.reservationId === input.reservationId) return current;
      throw Conflict('CAR_NOT_AVAILABLE', `the car is ${current.state}`, { carId: current.id, current: current.state });
    },

    async release(input: { carId: string; reservationId: string }, caller: Caller | undefined, origin: Origin = {}): Promise<Car> {
      requireCaller(caller);
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const car = await load(input.carId);
        // Released already (a retry, or a compensation after the hold expired): nothing to undo.
        if (car.reservationId === null) return car;
        if (car.reservationId !== input.reservationId) {
          throw PermissionDenied('NOT_YOUR_CAR', 'the car is held for another reservation', { carId: car.id, current: car.state });
        }
        const released = await unitOfWork.run((tx) => transition(tx, car, 'release', 'release', { reservationId: null }, origin));
        if (released) return released;
      }
      throw Conflict('INVALID_CAR_TRANSITION', 'the car keeps changing; try again', { carId: input.carId });
    },

    unlock: (input: { carId: string; reservationId: string }, caller: Caller | undefined, origin: Origin = {}) => sendCommand('unlock', input, caller, origin),
    lock: (input: { carId: string; reservationId: string }, caller: Caller | undefined, origin: Origin = {}) => sendCommand('lock', input, caller, origin),

    /** A device's answer to a command; whatever it says about another car's command is ignored. */
    async handleAck(carId: string, ack: CommandAck): Promise<void> {
      const outcome = { status: ack.ok ? 'acked' : 'refused', ack } as const;
      // The settle statement decides (a sent command of this car, within its deadline); the
      // command is read only when it did not, to say why.
      const settled = await settleCommand({ id: ack.commandId, carId }, outcome, {});
      if (settled === undefined) {
        const command = await commands.find(ack.commandId);
        const unknownOrSettled = !command || command.carId !== carId || command.status !== 'sent';
        hooks.ignoredAck?.(carId, ack, unknownOrSettled ? 'unknown_or_settled' : 'late');
        return;
      }
      await devices.announceSettled(settled.command.id, { ...outcome, car: settled.car });
    },

    nearby(input: { lat: number; lng: number; radiusM: number; category?: CarCategory | undefined; limit: number }): NearbyResult[] {
      return nearbyIndex.nearby({ lat: input.lat, lng: input.lng }, input.radiusM, input.category, input.limit);
    },

    /**
     * Records a rider's search as the start of a search session (car.searched) unless their
     * session is still open: the hot read path writes at most once per rider per interval.
     */
    async searched(caller: Caller | undefined, category: CarCategory | undefined, carsFound: number, origin: Origin): Promise<void> {
      if (caller?.role !== 'rider') return;
      const now = clock.now();
      const began = searchSessions.get(caller.userId);
      if (began !== undefined && now - began < searchSessionIntervalMs) return;
      if (searchSessions.size >= maxSearchSessions) {
        for (const [riderId, at] of searchSessions) if (now - at >= searchSessionIntervalMs) searchSessions.delete(riderId);
        // Still full of open sessions: the oldest go (Map keeps insertion order).
        for (const riderId of searchSessions.keys()) {
          if (searchSessions.size < maxSearchSessions) break;
          searchSessions.delete(riderId);
        }
      }
      searchSessions.delete(caller.userId);
      searchSessions.set(caller.userId, now);
      try {
        await unitOfWork.run((tx) => tx.events.add(events.create(CarSearched, caller.userId, { riderId: caller.userId, category: category ?? null, carsFound }, origin)));
      } catch (error) {
        // A figure is lost, not a rider's search: the session stays unrecorded and the next search retries.
        searchSessions.delete(caller.userId);
        hooks.searchNotRecorded?.(error);
      }
    },

    /** The same search in SQL (bounding box on an index, then haversine): the ADR 0015 baseline. */
    async nearbyInSql(input: { lat: number; lng: number; radiusM: number; category?: CarCategory | undefined; limit: number }): Promise<Array<{ car: Car; distanceM: number }>> {
      const center = { lat: input.lat, lng: input.lng };
      const candidates = await cars.availableWithin(boundingBox(center, input.radiusM), input.category);
      const found: Array<{ car: Car; distanceM: number }> = [];
      for (const car of candidates) {
        if (!car.position) continue;
        const distanceM = haversineMetres(center, car.position);
        if (distanceM <= input.radiusM) found.push({ car, distanceM });
      }
      found.sort((a, b) => a.distanceM - b.distanceM || (a.car.id < b.car.id ? -1 : 1));
      return found.slice(0, input.limit);
    },

    async telemetrySince(
      input: { carId: string; since: string; limit: number; cursor?: string | undefined },
      caller: Caller | undefined,
    ): Promise<{ items: TelemetryPoint[]; nextCursor: string | null }> {
      requireCaller(caller);
      let afterTs: number | undefined;
      if (input.cursor !== undefined) {
        let values;
        try {
          values = decodeCursor(input.cursor);
        } catch {
          throw InvalidArgument('INVALID_CURSOR', 'the cursor is not one this list gave out');
        }
        if (values.length !== 1 || typeof values[0] !== 'number') throw InvalidArgument('INVALID_CURSOR', 'the cursor is not one this list gave out');
        afterTs = values[0];
      }
      const points = await cars.telemetrySince(input.carId, Date.parse(input.since), afterTs, input.limit + 1);
      if (!points) throw carNotFound(input.carId);
      const hasMore = points.length > input.limit;
      const page = hasMore ? points.slice(0, input.limit) : points;
      const last = page.at(-1);
      return { items: page, nextCursor: hasMore && last ? encodeCursor([last.ts]) : null };
    },

    /**
     * One sweep: commands nobody settled by their deadline (their waiter died with its instance)
     * put their car back; available cars silent for `offlineAfterMs` go offline.
     */
    async sweep(origin: Origin = {}): Promise<{ expiredCommands: number; wentOffline: number }> {
      const now = clock.now();
      let expiredCommands = 0;
      for (const command of await commands.overdue(now, 500)) {
        // A waiter in this instance settles its own command when its timer fires.
        if ((await settleCommand(command, { status: 'expired' }, origin))?.car) expiredCommands += 1;
      }
      let wentOffline = 0;
      for (const car of await cars.silentSince(now - settings.offlineAfterMs, 1000)) {
        if (await unitOfWork.run((tx) => transition(tx, car, 'wentSilent', 'went_silent', {}, origin))) wentOffline += 1;
      }
      return { expiredCommands, wentOffline };
    },

    /** An offline car reported again: available once more. */
    async cameBack(carId: string, origin: Origin = {}): Promise<void> {
      const car = await cars.find(carId);
      if (car?.state !== 'offline') return;
      await unitOfWork.run((tx) => transition(tx, car, 'cameBack', 'reported_again', {}, origin));
    },

    /** Commands this instance is waiting on (for metrics and tests). */
    pendingCommands: () => waiters.size,
  };
}
