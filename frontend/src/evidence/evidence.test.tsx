import { act } from 'preact/test-utils';
import { DetailedError } from 'tus-js-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CustodyEvent, type CustodyState, learnNames } from '../api';
import { availableSteps, stepFrom } from './custody';
import { CustodyChain, CustodySummary } from './custodychain';
import { EvidenceTable } from './evidencelist';
import { newItemFrom, RegisterEvidenceForm } from './registerform';
import { agencyMember, choose, cleanUp, fakeServer, problem, show, type, userMember } from '../testing';
import { compareHashes, shouldRetry, uploadProblem } from './upload';
import { CaseNames } from '../ui';

afterEach(cleanUp);

const state = (over: Partial<CustodyState> = {}): CustodyState => ({
  custodian_agency_id: 'a-ncsc',
  custodian_user_id: 'u-me',
  location: 'Locker 3',
  sealed: false,
  seal_broken: false,
  legal_hold: false,
  last_verified_at: null,
  people: {},
  agencies: {},
  ...over,
});
const me = { userId: 'u-me', agencyId: 'a-ncsc' };

describe('availableSteps', () => {
  it('offers the custodian check-out, transfer, seal, hold and release on an item at rest', () => {
    expect(availableSteps(state(), me)).toEqual([
      'transfer_offered',
      'checked_out',
      'location_changed',
      'seal_applied',
      'legal_hold_set',
      'released',
      'disposal_proposed',
      'correction',
    ]);
  });

  it('offers only the return, the legal hold and corrections while an outside party has the item', () => {
    const out = state({ out: { name: 'Dr. Lund', organisation: 'NFC', since: '2026-01-05T08:00:00Z', overdue: false } });
    expect(availableSteps(out, me)).toEqual(['returned', 'legal_hold_set', 'correction']);
  });

  it('offers a proposed disposal to another person to confirm, never to its proposer', () => {
    const proposed = state({ disposal_proposed_by: 'u-lead' });
    expect(availableSteps(proposed, me)).toEqual(expect.arrayContaining(['disposed', 'disposal_withdrawn']));
    expect(availableSteps(proposed, me)).not.toContain('disposal_proposed');
    const mine = availableSteps(proposed, { userId: 'u-lead', agencyId: 'a-ncsc' });
    expect(mine).toContain('disposal_withdrawn');
    expect(mine).not.toContain('disposed');
  });

  it('offers check-in but no check-out, transfer or release while checked out', () => {
    const steps = availableSteps(state({ checked_out_by: 'u-me' }), me);
    expect(steps).toContain('checked_in');
    for (const s of ['checked_out', 'transfer_offered', 'released', 'disposal_proposed'] as const) expect(steps).not.toContain(s);
  });

  it('lets who checked it out check it in, though their agency is not the custodian', () => {
    const steps = availableSteps(state({ checked_out_by: 'u-other', custodian_agency_id: 'a-pst' }), {
      userId: 'u-other',
      agencyId: 'a-cert',
    });
    expect(steps).toEqual(['checked_in', 'legal_hold_set', 'correction']);
  });

  it('offers accept and decline to the agency a transfer is offered to, and withdrawal to the custodian', () => {
    const offered = state({ transfer_offered_to: 'a-pst' });
    expect(availableSteps(offered, { userId: 'u-p', agencyId: 'a-pst' })).toEqual([
      'transfer_accepted',
      'transfer_declined',
      'legal_hold_set',
      'correction',
    ]);
    expect(availableSteps(offered, me)).toContain('transfer_declined');
    expect(availableSteps(offered, me)).not.toContain('transfer_accepted');
    // The form opens on the first step: for the custodian, not the withdrawal of the offer it just made.
    expect(availableSteps(offered, me)[0]).toBe('location_changed');
  });

  it('follows the seal and the legal hold, and offers only corrections once final', () => {
    expect(availableSteps(state({ sealed: true }), me)).toContain('seal_broken');
    expect(availableSteps(state({ seal_broken: true }), me)).toContain('resealed');
    const held = availableSteps(state({ legal_hold: true }), me);
    expect(held).toContain('legal_hold_released');
    expect(held).not.toContain('disposal_proposed');
    expect(availableSteps(state({ final: 'disposed' }), me)).toEqual(['correction']);
  });
});

describe('request bodies', () => {
  it('sends only the fields a custody step asks for, details nested', () => {
    const f = { 'details.seal_number': ' S-77 ', 'details.reason': 'imaging', purpose: 'left over', notes: '' };
    expect(stepFrom('seal_broken', f)).toEqual({ type: 'seal_broken', details: { seal_number: 'S-77', reason: 'imaging' } });
    expect(stepFrom('checked_out', { purpose: 'timeline' })).toEqual({ type: 'checked_out', purpose: 'timeline' });
  });

  it('builds a registration with source, acquisition and declared hashes, leaving out what is empty', () => {
    expect(
      newItemFrom({ title: ' Disk ', kind: 'disk_image', tlp: '', device: 'Dell R740', sha256: 'ABCD', location: 'Locker 1' }),
    ).toEqual({
      title: 'Disk',
      kind: 'disk_image',
      location: 'Locker 1',
      source: { device: 'Dell R740' },
      declared_hashes: { sha256: 'abcd' },
    });
  });
});

describe('compareHashes', () => {
  it('compares each declared hash with the computed one, ignoring case', () => {
    expect(compareHashes({ sha256: 'AB', md5: 'cd' }, { sha256: 'ab', sha1: '11', md5: 'ce' })).toEqual([
      { alg: 'sha256', declared: 'AB', computed: 'ab', match: true },
      { alg: 'md5', declared: 'cd', computed: 'ce', match: false },
    ]);
    expect(compareHashes({}, { sha256: 'ab' })).toEqual([]);
  });
});

describe('tus errors', () => {
  it('shows the detail of a 422 hash_mismatch', () => {
    const res = {
      getStatus: () => 422,
      getHeader: () => undefined,
      getBody: () =>
        JSON.stringify({ type: 'about:blank', title: 'Unprocessable', status: 422, code: 'hash_mismatch', detail: 'SHA-256 differs.' }),
      getUnderlyingObject: () => null,
    };
    const detailed = new DetailedError('failed');
    detailed.originalResponse = res;
    const err = uploadProblem(detailed);
    expect(err.code).toBe('hash_mismatch');
    expect(err.userMessage).toBe('SHA-256 differs.');
  });

  it('says the upload can be resumed when the server was not reached', () => {
    expect(uploadProblem(new Error('offline')).userMessage).toMatch(/Resume it/);
  });

  it.each([
    [undefined, true],
    [500, true],
    [401, true],
    [409, true],
    [403, false],
    [413, false],
    [422, false],
  ])('retries after HTTP %s: %s', (status, retry) => {
    expect(shouldRetry(status)).toBe(retry);
  });
});

const members = {
  agencies: [
    agencyMember({ agency_id: 'a-ncsc', role: 'lead' }),
    agencyMember({ agency_id: 'a-pst', name: 'Police Security Service', code: 'PST' }),
  ],
  users: [userMember({ user_id: 'u-kari', name: 'Kari Nordmann', agency_id: 'a-pst' })],
  people: {},
};

function event(over: Partial<CustodyEvent>): CustodyEvent {
  return {
    id: 'e1',
    seq: 1,
    type: 'registered',
    details: {},
    occurred_at: '2026-11-28T09:00:00Z',
    recorded_at: '2026-11-28T09:00:01Z',
    prev_hash: '0'.repeat(64),
    hash: 'f'.repeat(64),
    people: {},
    agencies: {},
    ...over,
  };
}

describe('CustodyChain', () => {
  it('shows events in order with names, shortened hashes, and corrections superseding, all as text', () => {
    const events = [
      event({ id: 'e1', seq: 1, actor_user_id: 'u-kari', actor_agency_id: 'a-pst', location: 'Locker <b>3</b>', superseded_by: ['e3'] }),
      event({
        id: 'e2',
        seq: 2,
        type: 'transfer_offered',
        actor_user_id: 'u-me',
        counterparty_agency_id: 'a-pst',
        purpose: 'analysis',
        hash: 'abcdef0123456789abcdef',
      }),
      event({ id: 'e3', seq: 3, type: 'correction', supersedes: 'e1', location: 'Locker 4', notes: 'wrong locker' }),
    ];
    const root = show(
      <CaseNames members={members}>
        <CustodyChain events={events} />
      </CaseNames>,
    );

    const items = [...root.querySelectorAll('.custody-event')];
    expect(items.map((li) => li.querySelector('strong')?.textContent)).toEqual(['#1 Registered', '#2 Transfer offered', '#3 Correction']);
    expect(items[0]!.classList.contains('superseded')).toBe(true);
    expect(items[0]!.textContent).toContain('Kari Nordmann (Police Security Service (PST))');
    // Names are isolated, so bidi controls in one cannot reorder the line.
    expect([...items[0]!.querySelectorAll('bdi')].map((b) => b.textContent)).toEqual(['Kari Nordmann', 'Police Security Service (PST)']);
    expect(items[0]!.textContent).toContain('at Locker <b>3</b>');
    expect(items[0]!.textContent).toContain('Superseded by a correction (#3)');
    expect(items[1]!.textContent).toContain('Mona Lead (you) → Police Security Service (PST)');
    expect(items[1]!.querySelector('code.hash')?.textContent).toBe('abcdef012345…');
    expect(items[1]!.querySelector('code.hash')?.getAttribute('title')).toBe('abcdef0123456789abcdef');
    expect(items[2]!.textContent).toContain('Corrects event #1.');
    expect(items[2]!.textContent).toContain('wrong locker');
    expect(root.querySelector('b')).toBeNull();
  });
});

describe('CustodyChain and CustodySummary, for a person of another agency named by the API', () => {
  it('name their agency once, not once with the person and again beside them', () => {
    learnNames({ people: { 'u-siri': { name: 'Siri Analytiker', agency_id: 'a-cert', agency_name: 'National CERT' } } });
    learnNames({ agencies: { 'a-cert': { name: 'National CERT', code: 'NCERT' } } });
    const root = show(
      <>
        <CustodySummary state={state({ custodian_agency_id: 'a-cert', custodian_user_id: 'u-siri' })} />
        <CustodyChain events={[event({ actor_user_id: 'u-siri', actor_agency_id: 'a-cert', location: 'Locker 2' })]} />
      </>,
    );
    expect(root.querySelector('.custody-state dd')?.textContent).toBe('National CERT (NCERT), Siri Analytiker');
    expect(root.querySelector('.custody-event .event-head')?.textContent).toContain('by Siri Analytiker (National CERT (NCERT))');
    expect(root.querySelector('.custody-event .event-head')?.textContent).not.toContain('(National CERT) (');
  });
});

describe('CustodySummary', () => {
  it('names the custodian and who has it checked out, with seal, hold and integrity', () => {
    const root = show(
      <CaseNames members={members}>
        <CustodySummary
          state={state({
            custodian_agency_id: 'a-pst',
            custodian_user_id: 'u-kari',
            checked_out_by: 'u-kari',
            sealed: true,
            seal_number: 'S-1',
            legal_hold: true,
            integrity: 'ok',
          })}
        />
      </CaseNames>,
    );
    const text = root.textContent ?? '';
    expect(text).toContain('CustodianPolice Security Service (PST), Kari Nordmann');
    expect(root.querySelector('dd.checked-out')?.textContent).toBe('Kari Nordmann');
    expect(text).toContain('sealed, no. S-1');
    expect(text).toContain('Legal holdyes');
    expect(root.querySelector('.integrity-ok')?.textContent).toBe('ok');
  });
});

describe('EvidenceTable', () => {
  it('links each item and shows its content state and short SHA-256', async () => {
    fakeServer({});
    const root = show(
      <EvidenceTable
        items={[
          {
            id: 'i1',
            case_id: 'c1',
            exhibit_number: 'BEV-2026-0042-E001',
            title: '<img src=x> disk',
            description: '',
            kind: 'disk_image',
            source: {},
            acquisition: {},
            declared_hashes: {},
            tlp: 'AMBER',
            created_by: 'u-me',
            created_at: '2026-11-28T09:00:00Z',
            content_status: 'received',
            size: 10,
            hashes: { sha256: 'a'.repeat(64) },
            received_at: '2026-11-28T09:10:00Z',
            custody: state(),
            people: {},
            agencies: {},
          },
        ]}
      />,
    );
    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('a')?.textContent).toBe('<img src=x> disk');
    expect(root.querySelector('a')?.getAttribute('href')).toBe('/evidence/i1');
    expect(root.querySelector('.content-received')?.textContent).toBe('received');
    expect(root.querySelector('code.hash')?.textContent).toBe(`${'a'.repeat(12)}…`);
    await vi.waitFor(() => expect(root.textContent).toContain('Coordination Centre (NCSC)'));
  });
});

describe('RegisterEvidenceForm', () => {
  it('registers an item and shows the server’s field errors', async () => {
    const calls = fakeServer({
      'POST /api/v1/cases/c1/evidence': [
        problem(400, 'invalid_input', 'Some fields are invalid; see errors.', [
          { field: 'declared_hashes.sha256', message: 'must be 64 hex digits' },
        ]),
      ],
    });
    const onRegistered = vi.fn();
    const root = show(<RegisterEvidenceForm caseId="c1" items={[]} onRegistered={onRegistered} />);
    type(root, '#ev-title', 'Memory of DC01');
    choose(root, '#ev-kind', 'memory_dump');
    type(root, '#ev-sha256', 'xyz');
    await act(async () => root.querySelector('form')!.requestSubmit());

    await vi.waitFor(() => expect(root.querySelector('#ev-sha256-error')?.textContent).toBe('must be 64 hex digits'));
    expect(calls.find((c) => c.key === 'POST /api/v1/cases/c1/evidence')?.body).toEqual({
      title: 'Memory of DC01',
      kind: 'memory_dump',
      declared_hashes: { sha256: 'xyz' },
    });
    expect(onRegistered).not.toHaveBeenCalled();
  });
});
