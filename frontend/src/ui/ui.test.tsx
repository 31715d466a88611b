import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, show } from '../testing';
import { match } from './router';
import { TlpBadge } from './badges';

afterEach(cleanUp);

describe('TlpBadge', () => {
  it.each([
    ['CLEAR', 'tlp-clear'],
    ['GREEN', 'tlp-green'],
    ['AMBER', 'tlp-amber'],
    ['AMBER+STRICT', 'tlp-amber-strict'],
    ['RED', 'tlp-red'],
  ])('marks TLP:%s with class %s', (tlp, cls) => {
    const root = show(<TlpBadge tlp={tlp} />);
    const badge = root.querySelector('.tlp')!;
    expect(badge.textContent).toBe(`TLP:${tlp}`);
    expect(badge.classList.contains(cls)).toBe(true);
  });
});

describe('match', () => {
  it.each([
    ['/cases/:id', '/cases/abc', { id: 'abc' }],
    ['/cases/:id', '/cases/a%20b', { id: 'a b' }],
    ['/cases/:id', '/cases', null],
    ['/cases', '/cases/', {}],
    ['/', '/', {}],
    ['/cases/:id', '/cases/%E0%A4%A', null],
  ])('%s against %s', (pattern, path, want) => {
    expect(match(pattern, path)).toEqual(want);
  });
});
