/**
 * The Car state machine (DOMAIN.md) as data. A use case names the *move* it wants (`claim`,
 * `unlockConfirmed`, …); the table says from which states that move is allowed and where it
 * leads. Nothing else in the service decides a car's state.
 *
 *   available → reserved → unlocking → in_use → locking → available
 *   reserved → available                      (hold expired or cancelled: release)
 *   unlocking → reserved, locking → in_use    (the device refused or did not answer in time: the
 *                                              car returns to the state it had before the command;
 *                                              the issue asks for "back in its previous state",
 *                                              and the trip saga's compensation then releases it)
 *   available | offline ↔ maintenance         (operator; any idle state)
 *   available → offline → available           (device silent > N min; back on its next report)
 *
 * Only an available car goes offline: a reserved or rented car that stops reporting (a garage, a
 * tunnel) keeps its state so the rider's trip can still end; the operator list shows it by its
 * last-seen time.
 */
export const carStates = ['available', 'reserved', 'unlocking', 'in_use', 'locking', 'maintenance', 'offline'] as const;
export type CarState = (typeof carStates)[number];

export const carTransitions = {
  claim: { from: ['available'], to: 'reserved' },
  release: { from: ['reserved'], to: 'available' },
  beginUnlock: { from: ['reserved'], to: 'unlocking' },
  unlockConfirmed: { from: ['unlocking'], to: 'in_use' },
  unlockFailed: { from: ['unlocking'], to: 'reserved' },
  beginLock: { from: ['in_use'], to: 'locking' },
  lockConfirmed: { from: ['locking'], to: 'available' },
  lockFailed: { from: ['locking'], to: 'in_use' },
  startMaintenance: { from: ['available', 'offline'], to: 'maintenance' },
  endMaintenance: { from: ['maintenance'], to: 'available' },
  wentSilent: { from: ['available'], to: 'offline' },
  cameBack: { from: ['offline'], to: 'available' },
} as const satisfies Record<string, { from: readonly CarState[]; to: CarState }>;

export type CarMove = keyof typeof carTransitions;
export const carMoves = Object.keys(carTransitions) as CarMove[];

/** States in which nobody holds the car: it may be deleted or taken into maintenance. */
export const idleStates: readonly CarState[] = ['available', 'maintenance', 'offline'];

/** Where `move` takes a car in `from`, or undefined when the table forbids it. */
export function nextState(from: CarState, move: CarMove): CarState | undefined {
  const transition = carTransitions[move];
  return (transition.from as readonly CarState[]).includes(from) ? transition.to : undefined;
}

export function isIdle(state: CarState): boolean {
  return idleStates.includes(state);
}

/** Moves that end in the car being held for a reservation (the holder must be recorded). */
export function holdsReservation(state: CarState): boolean {
  return state === 'reserved' || state === 'unlocking' || state === 'in_use' || state === 'locking';
}
