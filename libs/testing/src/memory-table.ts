/** The undo steps of one in-memory transaction, newest last. */
export class UndoJournal {
  readonly #steps: Array<() => void> = [];

  record(undo: () => void): void {
    this.#steps.push(undo);
  }

  /** Undoes every recorded write, newest first. */
  rollback(): void {
    for (const undo of this.#steps.reverse()) undo();
    this.#steps.length = 0;
  }
}

/**
 * Rows by key for in-memory fakes of stores, with what a fake unit of work needs: writes made
 * through a transaction's view (see `journaledView`) are recorded in its journal and undone on
 * rollback; writes made directly, outside the transaction, are not, so a use case that writes
 * outside its transaction is caught by a test where the transaction fails. Iteration follows
 * insertion order (an undone update keeps its row's place).
 *
 * A fake must change its rows before its first `await`: the journal is attached for the
 * synchronous part of a call only.
 */
export class MemoryTable<Row> {
  readonly #rows = new Map<string, Row>();
  #journal: UndoJournal | undefined;

  get(key: string): Row | undefined {
    return this.#rows.get(key);
  }

  has(key: string): boolean {
    return this.#rows.has(key);
  }

  values(): Row[] {
    return [...this.#rows.values()];
  }

  entries(): Array<[string, Row]> {
    return [...this.#rows.entries()];
  }

  set(key: string, row: Row): void {
    this.#remember(key);
    this.#rows.set(key, row);
  }

  delete(key: string): void {
    this.#remember(key);
    this.#rows.delete(key);
  }

  /** Runs `call` with this table's writes recorded in `journal`. */
  journaling<T>(journal: UndoJournal, call: () => T): T {
    const outer = this.#journal;
    this.#journal = journal;
    try {
      return call();
    } finally {
      this.#journal = outer;
    }
  }

  #remember(key: string): void {
    if (!this.#journal) return;
    const existed = this.#rows.has(key);
    const before = this.#rows.get(key);
    this.#journal.record(() => {
      if (existed) this.#rows.set(key, before as Row);
      else this.#rows.delete(key);
    });
  }
}

/** What a fake whose rows live in MemoryTables says about them. */
export interface HasMemoryTables {
  memoryTables(): readonly MemoryTable<unknown>[];
}

/**
 * `fake` as a transaction sees it: every method call reaches the fake itself (so `failOnCall`
 * on the fake fails inside transactions too, and `#private` state works), with the writes it
 * makes recorded in `journal`.
 */
export function journaledView<T extends HasMemoryTables>(fake: T, journal: UndoJournal): T {
  const tables = fake.memoryTables();
  const withJournal = <R>(call: () => R): R => tables.reduce<() => R>((inner, table) => () => table.journaling(journal, inner), call)();
  return new Proxy(fake, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => withJournal(() => (value as (...callArgs: unknown[]) => unknown).apply(target, args));
    },
  });
}
