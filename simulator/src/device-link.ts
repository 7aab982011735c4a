/**
 * A device's radio: what a simulated box needs from its connection, whatever carries it. The
 * MQTT adapter is the real one; tests of the behaviour alone use a recording one.
 */
export interface DeviceLink {
  /** False while the connection is down: a report then is not sent (a real box would drop it too). */
  readonly connected: boolean;
  publish(topic: string, payload: string, qos: 0 | 1): void;
  /** Drops off the network (a dropout): no reports out, no commands in, until `reconnect`. */
  disconnect(): Promise<void>;
  reconnect(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a device's link with its own credentials; commands that arrive go to `onCommand`. */
export type DeviceConnector = (credentials: { carId: string; secret: string }, onCommand: (payload: string) => void) => Promise<DeviceLink>;
