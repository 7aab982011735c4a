import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failOnCall } from './fail-on-call.ts';
import { MemoryTable, UndoJournal, journaledView, type HasMemoryTables } from './memory-table.ts';

class MemoryNotes implements HasMemoryTables {
  readonly #rows = new MemoryTable<string>();

  async put(key: string, text: string): Promise<void> {
    this.#rows.set(key, text);
  }

  async remove(key: string): Promise<void> {
    this.#rows.delete(key);
  }

  all(): string[] {
    return this.#rows.values();
  }

  memoryTables(): readonly MemoryTable<unknown>[] {
    return [this.#rows];
  }
}

describe('MemoryTable with journaledView', () => {
  it('undoes the writes made through the view, newest first, and keeps the rows’ order', async () => {
    const notes = new MemoryNotes();
    await notes.put('a', 'first');
    await notes.put('b', 'second');
    const journal = new UndoJournal();
    const tx = journaledView(notes, journal);
    await tx.put('a', 'changed');
    await tx.put('c', 'added');
    await tx.remove('b');
    await tx.put('c', 'changed again');
    journal.rollback();
    assert.deepEqual(notes.all(), ['first', 'second']);
  });

  it('leaves writes made outside the view alone, even while a transaction is open', async () => {
    const notes = new MemoryNotes();
    const journal = new UndoJournal();
    const tx = journaledView(notes, journal);
    await tx.put('in', 'inside');
    await notes.put('out', 'outside');
    journal.rollback();
    assert.deepEqual(notes.all(), ['outside']);
  });

  it('calls the fake itself, so a fault set on the fake fails inside the transaction', async () => {
    const notes = new MemoryNotes();
    const tx = journaledView(notes, new UndoJournal());
    failOnCall(notes, 'put', 1, new Error('disk full'));
    await assert.rejects(tx.put('a', 'x'), /disk full/);
  });
});
