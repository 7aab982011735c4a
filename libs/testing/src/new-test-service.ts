export interface TestService<Service, Fakes> {
  /** The use cases under test, wired to `fakes`. */
  sut: Service;
  /** The same fakes the use cases hold: seed them before, inspect them after, break them with failOnCall. */
  fakes: Fakes;
}

/**
 * A service's use cases on in-memory fakes of its ports, after immich's `newTestService`. The
 * fakes may offer more than their port (seeding, the events they saw), so a test acts through
 * `sut` and looks through `fakes`; a service's own builder wraps this into one line:
 *
 *   const { sut, fakes } = newTestService(createUserService, userServiceFakes());
 */
export function newTestService<Ports, Fakes extends Ports, Service>(create: (ports: Ports) => Service, fakes: Fakes): TestService<Service, Fakes> {
  return { sut: create(fakes), fakes };
}
