import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, show } from '../testing';
import { match } from './router';
import { TlpBadge } from './badges';
import { Table } from './table';

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

describe('Table', () => {
  const rows = [
    { id: 'a', name: 'GDPR Art. 33', due: 'today', note: '' },
    { id: 'b', name: 'NIS2 early warning', due: 'tomorrow', note: 'late' },
  ];
  const columns = [
    { title: 'Deadline', rowHeader: true, cell: (r: (typeof rows)[number]) => r.name },
    { title: 'Due', cell: (r: (typeof rows)[number]) => r.due },
    { title: 'Note', cell: (r: (typeof rows)[number]) => r.note },
  ];

  it('is a table with a caption and column headers, each cell carrying its column title for narrow screens', () => {
    const root = show(<Table caption="Clocks" columns={columns} rows={rows} rowKey={(r) => r.id} />);

    expect(root.querySelector('caption')?.textContent).toBe('Clocks');
    expect([...root.querySelectorAll('thead th[scope="col"]')].map((th) => th.textContent)).toEqual(['Deadline', 'Due', 'Note']);
    const first = root.querySelectorAll('tbody tr')[0]!;
    // The row's header names the row; it needs no title of its own.
    expect(first.querySelector('th[scope="row"]')?.textContent).toBe('GDPR Art. 33');
    const due = first.querySelectorAll('td')[0]!;
    expect(due.querySelector('.cell-title')?.textContent).toBe('Due');
    // The header says the column to screen readers, so the title in the cell is hidden from them.
    expect(due.querySelector('.cell-title')?.getAttribute('aria-hidden')).toBe('true');
    // A blank cell gets no title, so a card shows no label without a value.
    expect(first.querySelectorAll('td')[1]!.innerHTML).toBe('');
  });

  it('says so instead of showing an empty table', () => {
    const root = show(<Table caption="Clocks" columns={columns} rows={[]} rowKey={(r) => r.id} empty="No clocks." />);
    expect(root.querySelector('table')).toBeNull();
    expect(root.textContent).toBe('No clocks.');
  });
});
