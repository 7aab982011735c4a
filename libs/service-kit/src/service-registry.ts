import { registeredService, type AnyServiceDescriptor, type RegisteredService } from './service-descriptor.ts';

/**
 * The services of the platform, checked once: unique names, prefixes and ports, calls that
 * name registered services and no cycle among them. Everything that lists services (the CLI,
 * the embedded platform, the gateway's downstreams, the generated contracts) iterates this.
 */
export class ServiceRegistry {
  readonly #byName = new Map<string, AnyServiceDescriptor>();
  /** Callees before callers; the edge service last. */
  readonly startOrder: readonly AnyServiceDescriptor[];

  constructor(descriptors: readonly AnyServiceDescriptor[]) {
    const prefixes = new Set<string>();
    const ports = new Set<number>();
    for (const descriptor of descriptors) {
      if (this.#byName.has(descriptor.name)) throw new Error(`service '${descriptor.name}' is registered twice`);
      if (prefixes.has(descriptor.envPrefix)) throw new Error(`env prefix '${descriptor.envPrefix}' of '${descriptor.name}' is taken`);
      if (ports.has(descriptor.defaultPort)) throw new Error(`default port ${descriptor.defaultPort} of '${descriptor.name}' is taken`);
      this.#byName.set(descriptor.name, descriptor);
      prefixes.add(descriptor.envPrefix);
      ports.add(descriptor.defaultPort);
    }
    this.startOrder = orderByCalls(descriptors);
  }

  get all(): readonly AnyServiceDescriptor[] {
    return [...this.#byName.values()];
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  find(name: string): AnyServiceDescriptor | undefined {
    return this.#byName.get(name);
  }

  /** What `name` learns about the others. */
  othersThan(name: string): RegisteredService[] {
    return this.startOrder.filter((descriptor) => descriptor.name !== name).map(registeredService);
  }

  /** The services it calls, by name ('every service' means every other one). */
  callees(descriptor: AnyServiceDescriptor): AnyServiceDescriptor[] {
    return calleesOf(descriptor, this.all);
  }
}

function calleesOf(descriptor: AnyServiceDescriptor, all: readonly AnyServiceDescriptor[]): AnyServiceDescriptor[] {
  if (descriptor.calls === 'every service') return all.filter((other) => other !== descriptor && other.calls !== 'every service');
  return descriptor.calls.map((name) => {
    const callee = all.find((other) => other.name === name);
    if (!callee) throw new Error(`service '${descriptor.name}' calls '${name}', which is not registered`);
    return callee;
  });
}

/** Depth-first topological order (callees first), stable in registration order; cycles refused. */
function orderByCalls(descriptors: readonly AnyServiceDescriptor[]): AnyServiceDescriptor[] {
  const ordered: AnyServiceDescriptor[] = [];
  const state = new Map<AnyServiceDescriptor, 'visiting' | 'done'>();
  const visit = (descriptor: AnyServiceDescriptor, path: string[]) => {
    const seen = state.get(descriptor);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`services call each other in a cycle: ${[...path, descriptor.name].join(' → ')}`);
    state.set(descriptor, 'visiting');
    for (const callee of calleesOf(descriptor, descriptors)) visit(callee, [...path, descriptor.name]);
    state.set(descriptor, 'done');
    ordered.push(descriptor);
  };
  for (const descriptor of descriptors.filter((candidate) => !candidate.edge)) visit(descriptor, []);
  for (const descriptor of descriptors.filter((candidate) => candidate.edge)) visit(descriptor, []);
  return ordered;
}
