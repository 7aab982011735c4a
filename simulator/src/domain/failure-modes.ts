/**
 * What can go wrong with a telematics box, switched on per car or for the whole fleet. Each mode
 * is what the platform must survive: a box that never answers, one that answers too late, a GPS
 * that wanders, a connection that comes and goes.
 */
export interface FailureModes {
  /** Commands are received and ignored: no action, no ack (a hung box). */
  neverAck?: boolean;
  /** The command is carried out on time, but its ack leaves this much later (past the platform's deadline). */
  lateAckMs?: number;
  /** The box refuses every command: ack with ok = false and the lock state unchanged. */
  rejectCommands?: boolean;
  /** Each reported position is off by up to this many metres, in a random direction. */
  gpsDriftM?: number;
  /** Every so often (mean interval) the box drops off the network for a while, then reconnects. */
  dropouts?: { meanIntervalMs: number; durationMs: number };
}

export interface FailurePlan {
  /** For every car. */
  fleet?: FailureModes;
  /** By car id, or by index in the fleet as `#0`, `#1`…: merged over the fleet's modes. */
  cars?: Readonly<Record<string, FailureModes>>;
}

export function failureModesFor(plan: FailurePlan | undefined, carId: string, index: number): FailureModes {
  return { ...plan?.fleet, ...plan?.cars?.[`#${index}`], ...plan?.cars?.[carId] };
}
