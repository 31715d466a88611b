import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { button, cleanUp, fakeServer, show } from '../testing';
import type { Portfolio, Sitrep } from './api';
import { PortfolioPage } from './portfolio';
import { reportMarking, SitrepView } from './sitreppage';

afterEach(cleanUp);

const hostile = '<img src=x onerror="alert(1)"> Breach';

const portfolio: Portfolio = {
  generated_at: '2026-11-29T12:00:00Z',
  stale_days: 7,
  cases: [
    { id: 'c1', reference: 'BEV-1', title: hostile, phase: 'investigating', phase_since: '2026-11-28T12:00:00Z', severity: 4,
      tlp: 'AMBER', lead_agency_id: 'a1', updated_at: '2026-11-29T10:00:00Z', stale: false },
    { id: 'c2', reference: 'BEV-2', title: 'Quiet case', phase: 'new', phase_since: '2026-11-01T12:00:00Z', severity: 2,
      tlp: 'GREEN', lead_agency_id: 'a2', updated_at: '2026-11-01T10:00:00Z', stale: true },
  ],
  by_phase: [
    { key: 'new', count: 1, case_ids: ['c2'] },
    { key: 'investigating', count: 1, case_ids: ['c1'] },
    { key: 'closed', count: 0, case_ids: [] },
  ],
  by_severity: [
    { key: '4', count: 1, case_ids: ['c1'] },
    { key: '2', count: 1, case_ids: ['c2'] },
  ],
  clocks: [
    { case_id: 'c1', reference: 'BEV-1', case_title: hostile, clock: 'gdpr.art33', title: 'GDPR Art. 33', due_at: '2026-11-29T08:00:00Z',
      state: 'overdue', owner_agency_id: 'a1' },
  ],
  tasks: [{ agency_id: 'a2', overdue: 3, blocked: 1, case_ids: ['c2'] }],
  evidence: [{ case_id: 'c1', items: 2, bytes: 2_097_152, awaiting_handover: 1, failed_verifications: 0 }],
  stale: ['c2'],
  phase_times: { triage: { samples: 4, median_seconds: 7200, p90_seconds: 86400 * 3 } },
  discovery_to_containment: { samples: 0, median_seconds: 0, p90_seconds: 0 },
  agencies: { a1: { name: 'Criminal Police', code: 'POL' }, a2: { name: 'Health CERT', code: 'HC' } },
};

describe('PortfolioPage', () => {
  it('says every chart in words and drills down from a bar to the cases behind it', async () => {
    fakeServer({ 'GET /api/v1/portfolio': [() => Response.json(portfolio)] });
    const root = show(<PortfolioPage />);
    await vi.waitFor(() => expect(root.querySelector('h1')?.textContent).toBe('Portfolio'));
    await vi.waitFor(() => expect(root.textContent).toContain('2 cases you can read'));

    // The drawings are for the eye; the buttons beside them carry the numbers.
    for (const svg of root.querySelectorAll('svg')) expect(svg.getAttribute('aria-hidden')).toBe('true');
    expect(button(root, 'Investigating: 1 case')).toBeTruthy();
    expect(button(root, 'Closed: 0 cases').disabled).toBe(true);
    expect(button(root, 'Health CERT: 3 tasks')).toBeTruthy();

    act(() => button(root, 'Critical: 1 case').click());
    const drill = root.querySelector('section[aria-labelledby="drill-down"]');
    expect(drill?.querySelector('h2')?.textContent).toBe('Cases: Critical');
    const link = drill?.querySelector('a');
    expect(link?.getAttribute('href')).toBe('/cases/c1');
    expect(link?.textContent).toBe(`BEV-1 ${hostile}`);
    expect(root.querySelector('img')).toBeNull();

    expect(root.querySelector('tr.overdue')?.textContent).toContain('Criminal Police');
    expect(root.querySelector('section[aria-labelledby="stale"]')?.textContent).toContain('Quiet case');
  });
});

const report: Sitrep = {
  format: 1, case_id: 'c1', reference: 'BEV-1', title: 'Breach', generated_at: '2026-11-29T12:00:00Z', since: null, since_number: 0,
  conditions: {
    summary: '', phase: 'containment', phase_since: '2026-11-27T12:00:00Z', seconds_in_phase: 172800, severity: 3, tlp: 'AMBER',
    classification_label: '', lead_agency_id: 'a1', affected_organisations: ['Helse Nord'], affected_systems: [], personal_data_breach: true,
    key_events: [{ id: 'e1', occurred_at: '2026-11-28T12:00:00Z', description: 'Informant meeting', techniques: [], tlp: 'RED' }],
    events_since: 1, events_since_more: false,
    clocks: [{ clock: 'gdpr.art33', title: 'GDPR Art. 33', due_at: '2026-11-28T08:00:00Z', met_at: null, state: 'overdue' }],
  },
  actions: { tasks: [], evidence_received: [], handed_over: [] },
  needs: { blocked: [], overdue: [], clocks_at_risk: [{ clock: 'gdpr.art33', title: 'GDPR Art. 33', due_at: '2026-11-28T08:00:00Z', met_at: null, state: 'overdue' }], open_offers: [] },
  changes: [],
  agencies: [{ id: 'a1', code: 'POL', name: 'Criminal Police' }],
};

describe('the situation report', () => {
  it('is marked with the strictest marking of the case and of what it shows', () => {
    expect(reportMarking(report)).toBe('RED');
    expect(reportMarking({ ...report, conditions: { ...report.conditions, key_events: [] } })).toBe('AMBER');
  });

  it('lists the clocks at risk under needs', () => {
    const root = show(<SitrepView r={report} />);
    expect(root.querySelector('section[aria-labelledby="needs"]')?.textContent).toContain('GDPR Art. 33: Overdue');
    expect(root.textContent).toContain('Helse Nord');
  });
});
