import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shownItems } from './use-cursor-pages.ts';

// What a listing shows of the pages it loaded; the hook around it runs in the browser tests of
// both apps (e2e/src/web: the console's Next/Previous page, the rider's trip history).

describe('shownItems', () => {
  const pages = [['a', 'b'], ['c', 'd'], ['e']];

  it('shows one page at a time without accumulate: the page at the depth asked for', () => {
    assert.deepEqual(shownItems(pages, 2, false), ['c', 'd']);
    assert.deepEqual(shownItems(pages, 1, false), ['a', 'b']);
  });

  it('shows every page down to the depth with accumulate ("load more"), in order', () => {
    assert.deepEqual(shownItems(pages, 3, true), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(shownItems(pages, 2, true), ['a', 'b', 'c', 'd'], 'a page below the depth is not shown');
  });

  it('shows nothing before the first page answered', () => {
    assert.deepEqual(shownItems([], 0, true), []);
    assert.deepEqual(shownItems([], 0, false), []);
  });
});
