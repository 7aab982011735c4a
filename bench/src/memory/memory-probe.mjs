// Preloaded into `carshare up` by the memory benchmark (`node --import <this file> …`): on SIGUSR2
// it writes one `carshare-memory {json}` line on stderr with what only the process itself can
// see: process.memoryUsage(), V8's heap spaces and code statistics, and the size of every
// WebAssembly.Memory (PGlite's linear memory), so the bench can find its mapping in smaps.
// Plain JavaScript: it must load without tsx, which would add its own memory to the figures.
import process from 'node:process';
import v8 from 'node:v8';

/* global WebAssembly */

const memories = [];
const OriginalMemory = WebAssembly.Memory;
WebAssembly.Memory = class TrackedMemory extends OriginalMemory {
  constructor(descriptor) {
    super(descriptor);
    memories.push(new WeakRef(this));
  }
};

process.on('SIGUSR2', () => {
  const heap = v8.getHeapStatistics();
  const report = {
    memoryUsage: process.memoryUsage(),
    heapSpaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, { physical: space.physical_space_size, used: space.space_used_size }])),
    heap: { totalPhysical: heap.total_physical_size, malloced: heap.malloced_memory, peakMalloced: heap.peak_malloced_memory, external: heap.external_memory },
    code: v8.getHeapCodeStatistics(),
    wasmMemoryBytes: memories.map((ref) => ref.deref()?.buffer.byteLength).filter((size) => size !== undefined),
  };
  process.stderr.write(`carshare-memory ${JSON.stringify(report)}\n`);
});
