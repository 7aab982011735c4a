/**
 * Events are routed by a slot computed from their subject, so every event of one subject lands
 * in the same partition queue of every group. The slot count is part of the wire format: every
 * publisher and consumer must agree on it, so it is a constant rather than an option.
 */
export const subjectSlotCount = 64;

/** FNV-1a over the UTF-16 code units: cheap, stable across processes and versions. */
export function subjectSlot(subject: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < subject.length; index += 1) {
    hash ^= subject.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % subjectSlotCount;
}
