/** What the fleet has done since it started: for the CLI's status line, the bench and tests. */
export class FleetStats {
  reportsSent = 0;
  /** Reports not sent because the link was down (a dropout, or the broker away). */
  reportsSkipped = 0;
  commandsReceived = 0;
  commandsCarriedOut = 0;
  /** Received and left unanswered on purpose (the never-ack failure mode). */
  commandsIgnored = 0;
  commandsExpired = 0;
  commandsRejected = 0;
  /** Payloads that were not a DeviceCommand: counted, never acted on. */
  commandsInvalid = 0;
  acksSent = 0;
  dropouts = 0;
  tripsStarted = 0;
}
