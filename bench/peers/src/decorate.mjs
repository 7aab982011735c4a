/**
 * What `tsc --experimentalDecorators --emitDecoratorMetadata` emits for a decorated class, by
 * hand: these files are plain JavaScript (no build step, nothing for the root type-check to
 * resolve), and Nest reads the same metadata either way, so the runtime path is the one a
 * TypeScript Nest app takes.
 */
import 'reflect-metadata';

/** `@Decorator() class X {}` plus `design:paramtypes` for the constructor's injected types. */
export function decorateClass(target, decorators, constructorParamTypes = []) {
  const decorated = Reflect.decorate([...decorators, Reflect.metadata('design:paramtypes', constructorParamTypes)], target);
  return decorated ?? target;
}

/** Parameter decorators of the constructor, e.g. `constructor(@Inject('USERS') client)`. */
export function decorateConstructorParameter(target, index, decorator) {
  decorator(target, undefined, index);
}

/**
 * A method's decorators, its parameter decorators (`[[index, decorator]]`) and the
 * `design:*` metadata that pipes read (ValidationPipe validates against `design:paramtypes`).
 */
export function decorateMethod(target, key, { decorators = [], parameters = [], paramTypes = [] }) {
  const prototype = target.prototype;
  const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
  const all = [
    ...decorators,
    ...parameters.map(([index, decorator]) => (proto, name) => decorator(proto, name, index)),
    Reflect.metadata('design:type', Function),
    Reflect.metadata('design:paramtypes', paramTypes),
    Reflect.metadata('design:returntype', Object),
  ];
  const result = Reflect.decorate(all, prototype, key, descriptor);
  Object.defineProperty(prototype, key, result ?? descriptor);
}

/** `@IsUUID() userId: string` and the like. */
export function decorateProperty(target, key, decorators, type) {
  Reflect.decorate([...decorators, Reflect.metadata('design:type', type)], target.prototype, key, undefined);
}
