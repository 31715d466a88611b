import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuditEntry, EvidenceItem } from '../api';
import { button, cleanUp, fakeServer, me, show } from '../testing';
import { DirectoryProvider, setTimeZone } from '../ui';
import { AccessLog, ItemAccessPage } from './accesslog';
import { EvidencePage } from './evidencepage';

beforeEach(() => window.history.replaceState(null, '', '/evidence/i1'));
let root: HTMLElement | undefined;
afterEach(async () => {
  if (root) {
    act(() => render(null, root!));
    root.remove();
    root = undefined;
  }
  setTimeZone('');
  await cleanUp();
});

const police = { 'u-per': { name: 'Per Politi', agency_id: 'a-pst', agency_name: 'Police Security Service' } };
const agencies = { 'a-pst': { name: 'Police Security Service', code: 'PST' } };

function entry(over: Partial<AuditEntry>): AuditEntry {
  return {
    seq: 7,
    id: 'ae7',
    at: '2026-11-29T12:00:00Z',
    user_id: 'u-per',
    agency_id: 'a-pst',
    action: 'evidence.download',
    resource_type: 'evidence',
    resource_id: 'i1',
    case_id: 'c1',
    outcome: 'success',
    request_id: 'req-7',
    client_ip: '10.0.0.7',
    range: { Offset: 0, Length: 4096 },
    people: police,
    agencies,
    ...over,
  };
}

const item = {
  id: 'i1',
  case_id: 'c1',
  exhibit_number: 'E001',
  title: 'Disk of hr-ws12',
  description: '',
  kind: 'disk_image',
  source: {},
  acquisition: {},
  declared_hashes: {},
  tlp: 'AMBER',
  created_by: 'u-me',
  created_at: '2026-11-28T09:00:00Z',
  content_status: 'none',
  people: {},
  agencies: {},
} as unknown as EvidenceItem;

describe('AccessLog', () => {
  it('names the people, opens each entry in full, filters by time and kind on the server, and pages with the cursor', async () => {
    const calls = fakeServer({
      'GET /api/v1/evidence/i1/access?limit=50': [
        () => Response.json({ items: [entry({}), entry({ seq: 6, id: 'ae6', action: 'evidence.get', range: undefined })], next_cursor: 'C1' }),
      ],
      'GET /api/v1/evidence/i1/access?limit=50&cursor=C1': [() => Response.json({ items: [entry({ seq: 5, id: 'ae5', action: 'evidence.custody.get' })] })],
      'GET /api/v1/evidence/i1/access?limit=50&from=2026-11-29T00%3A00%3A00.000Z&action=evidence.custody.post': [
        () =>
          Response.json({
            items: [entry({ seq: 9, id: 'ae9', action: 'evidence.custody.post', detail: { step: 'transfer_offered', counterparty_agency_id: 'a-pst' } })],
          }),
      ],
    });
    setTimeZone('UTC'); // the time typed below is read in the person's zone
    const r = show(<AccessLog itemId="i1" />);
    await vi.waitFor(() => expect(r.querySelectorAll('tbody tr').length).toBe(2));
    const first = r.querySelector('tbody tr')!;
    expect(first.textContent).toContain('Per Politi (Police Security Service)');
    expect(first.textContent).toContain('Police Security Service (PST)');
    expect(first.textContent).toContain('Downloaded the content (4,096 bytes)');
    const full = first.querySelector<HTMLDetailsElement>('details#entry-7')!;
    expect(full.querySelector('summary')?.textContent).toBe('Entry #7 in full');
    expect(full.textContent).toContain('req-7');
    expect(full.textContent).toContain('10.0.0.7');

    await act(async () => button(r, 'Load more').click());
    await vi.waitFor(() => expect(r.querySelectorAll('tbody tr').length).toBe(3));

    // Filters go into the URL (Back keeps them) and to the server.
    const from = r.querySelector<HTMLInputElement>('#access-from')!;
    act(() => {
      from.value = '2026-11-29T00:00';
      from.dispatchEvent(new Event('input', { bubbles: true }));
    });
    const show_ = r.querySelector<HTMLSelectElement>('#access-show')!;
    act(() => {
      show_.value = 'custody';
      show_.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await act(async () => r.querySelector<HTMLFormElement>('form.access-filters')!.requestSubmit());
    await vi.waitFor(() => expect([...r.querySelectorAll('tbody tr')].map((t) => t.getAttribute('data-action'))).toEqual(['evidence.custody.post']));
    expect(r.querySelector('tbody tr')?.textContent).toContain('Recorded a custody step: Transfer offered to Police Security Service (PST)');
    expect(new URLSearchParams(window.location.search).get('show')).toBe('custody');
    expect(calls.filter((c) => c.key.startsWith('GET /api/v1/evidence/i1/access')).length).toBe(3);
  });
});

describe('the access log for whom it is', () => {
  const common = {
    'GET /api/v1/evidence/i1': [() => Response.json(item)],
    'GET /api/v1/evidence/i1/custody': [() => Response.json({ state: { custodian_agency_id: 'a-ncsc', people: {}, agencies: {} }, events: [] })],
    'GET /api/v1/evidence/i1/lineage': [() => Response.json({ ancestors: [], descendants: [], people: {}, agencies: {} })],
    'GET /api/v1/cases/c1/members': [() => Response.json({ agencies: [], users: [], people: {} })],
    'GET /api/v1/evidence/i1/access?limit=50': [() => Response.json({ items: [entry({})] })],
  };

  it('is a section of the item page for a lead of its case', async () => {
    const calls = fakeServer({ ...common, 'GET /api/v1/me': [() => Response.json({ user: me, memberships: [{ case_id: 'c1', role: 'lead' }] })] });
    const r = show(<EvidencePage id="i1" />);
    await vi.waitFor(() => expect(r.querySelector('#access-log')?.textContent).toBe('Access log'));
    await vi.waitFor(() => expect(r.querySelectorAll('.access-log tbody tr').length).toBe(1));
    expect(calls.some((c) => c.key.startsWith('GET /api/v1/evidence/i1/access'))).toBe(true);
  });

  it('is not offered, nor asked for, to an investigator', async () => {
    const calls = fakeServer({
      ...common,
      'GET /api/v1/me': [() => Response.json({ user: me, memberships: [{ case_id: 'c1', role: 'investigator' }] })],
    });
    const r = show(<EvidencePage id="i1" />);
    await vi.waitFor(() => expect(r.querySelector('#custody')).not.toBeNull());
    await vi.waitFor(() => expect(calls.some((c) => c.key === 'GET /api/v1/me')).toBe(true));
    await new Promise((res) => setTimeout(res, 0));
    expect(r.querySelector('#access-log')).toBeNull();
    expect(calls.some((c) => c.key.startsWith('GET /api/v1/evidence/i1/access'))).toBe(false);
  });

  it('is a page of its own for an auditor, who is not sent for the item or its custody and is told why', async () => {
    window.history.replaceState(null, '', '/evidence/i1/access');
    const calls = fakeServer(common);
    root = document.createElement('div');
    document.body.append(root);
    act(() =>
      render(
        <DirectoryProvider me={{ ...me, system_role: 'auditor' }}>
          <ItemAccessPage id="i1" />
        </DirectoryProvider>,
        root!,
      ),
    );
    const r = root;
    await vi.waitFor(() => expect(r.querySelectorAll('.access-log tbody tr').length).toBe(1));
    expect(r.querySelector('h1')?.textContent).toBe('Access log');
    expect(r.querySelector('.custody-note')?.textContent).toContain('chain of custody are case content');
    expect(calls.filter((c) => c.key === 'GET /api/v1/evidence/i1' || c.key === 'GET /api/v1/evidence/i1/custody')).toEqual([]);
  });
});
