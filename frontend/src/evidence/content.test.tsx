import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EvidenceItem } from '../api';
import { button, cleanUp, fakeServer, show } from '../testing';
import { formatBytes } from '../ui';
import { ContentSection } from './content';
import { LineageTree, loadLineage } from './lineage';

afterEach(cleanUp);

function item(over: Partial<EvidenceItem> = {}): EvidenceItem {
  return {
    id: 'i1',
    case_id: 'c1',
    exhibit_number: 'BEV-2026-0042-E001',
    title: 'Disk of hr-ws12',
    description: '',
    kind: 'disk_image',
    source: {},
    acquisition: {},
    declared_hashes: {},
    tlp: 'AMBER',
    created_by: 'u-me',
    created_at: '2026-11-28T09:00:00Z',
    content_status: 'received',
    size: 53_687_091_200,
    hashes: { sha256: 'a'.repeat(64) },
    received_at: '2026-11-28T09:10:00Z',
    people: {},
    agencies: {},
    ...over,
  } as EvidenceItem;
}

describe('ContentSection', () => {
  it('downloads through a single-use ticket by a plain link, never into memory', async () => {
    const calls = fakeServer({
      'POST /api/v1/evidence/i1/download-tickets': [
        () =>
          Response.json(
            { ticket: 'T', url: '/api/v1/evidence/i1/content?ticket=T', expires_at: '2026-11-28T09:11:00Z' },
            { status: 201 },
          ),
      ],
    });
    const followed: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      followed.push(this.getAttribute('href') ?? '');
    });
    const root = show(<ContentSection item={item()} canWrite={true} onChanged={() => {}} />);
    expect(root.querySelector('.size')?.textContent).toBe('50.0 GiB');

    await act(async () => button(root, 'Download').click());
    await vi.waitFor(() => expect(followed).toEqual(['/api/v1/evidence/i1/content?ticket=T']));
    // Nothing fetched the content itself: the browser follows the link.
    expect(calls.some((c) => c.key.includes('/content'))).toBe(false);
    click.mockRestore();
  });

  it('offers a physical item no upload box, and an item still to come one', () => {
    fakeServer({});
    const physical = show(
      <ContentSection item={item({ kind: 'physical_item', content_status: 'none', size: null, hashes: null })} canWrite={true} onChanged={() => {}} />,
    );
    expect(physical.querySelector('input[type="file"]')).toBeNull();
    expect(physical.textContent).toContain('A physical exhibit has no content to upload');
    const disk = show(<ContentSection item={item({ content_status: 'none', size: null, hashes: null })} canWrite={true} onChanged={() => {}} />);
    expect(disk.querySelector('input[type="file"]')).not.toBeNull();
  });
});

describe('formatBytes', () => {
  it('says sizes in human units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
  });
});

describe('lineage', () => {
  it('draws the ancestors from the root down and every descendant under its parent', async () => {
    const mid = item({ id: 'm', title: 'Disk image', parent_id: 'r' });
    const li = (id: string, title: string, generation: number, parent_id?: string) => ({
      id, exhibit_number: `E-${id}`, title, kind: 'disk_image', tlp: 'AMBER', generation, parent_id,
    });
    fakeServer({
      'GET /api/v1/evidence/m/lineage': [
        () =>
          Response.json({
            item: li('m', 'Disk image', 0, 'r'),
            ancestors: [li('r', 'Laptop', -2, 'q'), li('q', 'Bag', -3), li('r2', 'Laptop case', -1, 'r')],
            descendants: [li('k', 'Carved mail', 1, 'm'), li('g', 'Attachment', 2, 'k')],
          }),
      ],
    });
    const l = await loadLineage(mid);
    expect(l.ancestors.map((x) => x.id)).toEqual(['q', 'r', 'r2']);

    const r = show(<LineageTree lineage={l} item={mid} />);
    const outer = r.querySelector('.lineage > ul > li')!;
    expect(outer.querySelector(':scope > a')?.getAttribute('href')).toBe('/evidence/q');
    const me = outer.querySelector('li[aria-current="true"]')!;
    expect(me.textContent).toContain('Disk image');
    expect(me.querySelector(':scope > ul > li > a')?.getAttribute('href')).toBe('/evidence/k');
    expect(me.querySelector(':scope > ul > li > ul > li > a')?.getAttribute('href')).toBe('/evidence/g');
  });
});
