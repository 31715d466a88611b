// What keeps scrolling the list cheap: the virtualizer's row key function
// stays the same while the window does (else it lays out the whole window
// again at every step of a scroll), and rows not yet shown are estimated at
// the size the last row measured (else each row that shows moves every row
// below it).

import type { Virtualizer } from '@tanstack/virtual-core';
import { describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../api';
import { rowKey, rowSizes } from './eventlist';

const events = (ids: string[]) => ids.map((id) => ({ id }) as TimelineEvent);

describe('rowKey', () => {
  it('gives the same key function for the same window, a new one for a new window, keyed by event id', () => {
    const window = events(['a', 'b', 'c']);
    const key = rowKey(window);
    expect(rowKey(window)).toBe(key);
    expect([0, 1, 2].map(key)).toEqual(['a', 'b', 'c']);
    // A page added or dropped makes a new array: the virtualizer must see new keys.
    const next = events(['b', 'c', 'd']);
    expect(rowKey(next)).not.toBe(key);
    expect([0, 1, 2].map(rowKey(next))).toEqual(['b', 'c', 'd']);
  });
});

describe('rowSizes', () => {
  const li = document.createElement('li');
  const v = { options: { horizontal: false, useCachedMeasurements: false } } as Virtualizer<HTMLDivElement, HTMLLIElement>;
  const entry = (height: number) => ({ borderBoxSize: [{ blockSize: height, inlineSize: 1000 }] }) as unknown as ResizeObserverEntry;

  it('estimates rows not yet shown at the size the last row measured', () => {
    const sizes = rowSizes(72);
    expect(sizes.estimate()).toBe(72);
    expect(sizes.measure(li, entry(89), v)).toBe(89);
    expect(sizes.estimate()).toBe(89);
    expect(sizes.measure(li, entry(164.6), v)).toBe(165);
    expect(sizes.estimate()).toBe(165);
  });

  it('learns nothing from a row that is not laid out', () => {
    const sizes = rowSizes(72);
    sizes.measure(li, entry(89), v);
    expect(sizes.measure(li, entry(0), v)).toBe(0);
    expect(sizes.estimate()).toBe(89);
  });
});
