import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Case } from '../api';
import { caseFixture, choose, cleanUp, clock, H, NOW, fakeServer, problem, show, type } from '../testing';
import { severityLabel } from './badges';
import { CaseListPage } from './caselist';
import { CaseTable } from './casetable';
import { CreateCaseForm } from './createcase';
import { DeadlineList, StatusCounts } from './glance';
import { urgentClocks } from './clocks';

afterEach(cleanUp);

const hostileTitle = '<img src=x onerror="alert(1)"> Breach \u202Egnp.exe';

const baseCase: Case = caseFixture({ title: hostileTitle, tlp: 'RED', classification_label: 'RESTRICTED' });

describe('CaseTable', () => {
  it('shows titles as text, never as markup', () => {
    const root = show(<CaseTable cases={[baseCase]} />);

    expect(root.querySelector('img')).toBeNull();
    expect(root.querySelector('a')?.textContent).toBe(hostileTitle);
    expect(root.querySelector('a')?.getAttribute('href')).toBe('/cases/c1');
  });

  it('shows reference, severity, status, TLP and the next open deadline of each case', () => {
    const root = show(
      <CaseTable
        now={Date.parse('2026-11-29T10:00:00Z')}
        cases={[
          {
            ...baseCase,
            severity: 1,
            status: 'containment',
            clocks: [
              { id: 'gdpr.art33', jurisdiction: 'gdpr', title: 'GDPR Art. 33', due_at: '2026-11-29T13:00:00Z', state: 'pending', met: null },
              { id: 'nis2.x', jurisdiction: 'nis2', title: 'NIS2 final', due_at: '2026-12-29T13:00:00Z', state: 'pending', met: null },
            ],
          },
        ]}
      />,
    );
    expect([...root.querySelectorAll('th')].map((t) => t.textContent)).toEqual([
      'Reference',
      'Title',
      'Severity',
      'Status',
      'TLP',
      'Next deadline',
      'Updated',
    ]);
    expect(root.querySelector('tbody')?.textContent).toContain('BEV-2026-0042');
    expect(root.querySelector('.severity-1')?.textContent).toBe('Severity 1 (low)');
    expect(root.querySelector('.case-status-containment')?.textContent).toBe('Containment');
    expect(root.querySelector('tbody')?.textContent).toContain('GDPR Art. 33: due in 3 h');
  });
});

describe('CreateCaseForm', () => {
  it('shows the server’s field errors next to their fields', async () => {
    const calls = fakeServer({
      'POST /api/v1/cases': [
        problem(400, 'invalid_input', 'Some fields are invalid; see errors.', [
          { field: 'title', message: 'must not be empty' },
        ]),
      ],
    });
    const onCreated = vi.fn();
    const root = show(<CreateCaseForm onCreated={onCreated} />);
    type(root, '#title', '   ');
    choose(root, '#tlp', 'GREEN');

    await act(async () => root.querySelector('form')!.requestSubmit());

    await vi.waitFor(() => expect(root.querySelector('#title-error')?.textContent).toBe('must not be empty'));
    expect(root.querySelector('#title')?.getAttribute('aria-invalid')).toBe('true');
    expect(root.querySelector('#title')?.getAttribute('aria-describedby')).toBe('title-error');
    expect(root.querySelector('[role="alert"]')?.textContent).toBe('Some fields are invalid; see errors.');
    expect(calls.find((c) => c.key === 'POST /api/v1/cases')?.body).toEqual({
      title: '',
      summary: '',
      severity: 2,
      tlp: 'GREEN',
      classification_label: '',
    });
    expect(onCreated).not.toHaveBeenCalled();
  });
});

describe('severity', () => {
  // The API's Severity: 1 low, 2 medium, 3 high, 4 critical (the document names each value; a Go test holds
  // the document to cases.Severity). It once read here as 1 critical … 4 low.
  it('reads each value as the API defines it, on badges and in every choice', () => {
    expect([1, 2, 3, 4].map(severityLabel)).toEqual(['1 (low)', '2 (medium)', '3 (high)', '4 (critical)']);
    const root = show(<CreateCaseForm onCreated={() => {}} />);
    const options = [...root.querySelectorAll<HTMLOptionElement>('#severity option')].map((o) => `${o.value}=${o.textContent}`);
    expect(options).toEqual(['1=1 (low)', '2=2 (medium)', '3=3 (high)', '4=4 (critical)']);
    // A case opened without a choice is medium, as the server would make it.
    expect(root.querySelector<HTMLSelectElement>('#severity')?.value).toBe('2');
  });

  it('sorts critical cases first when sorting by severity descending', () => {
    fakeServer({ 'GET /api/v1/cases': [() => Response.json({ items: [], counts: {} })] });
    const root = show(<CaseListPage />);
    const option = root.querySelector<HTMLOptionElement>('#filter-sort option[value="-severity"]');
    expect(option?.textContent).toBe('Severity, critical first');
    expect(root.querySelector('#filter-sort option[value="severity"]')?.textContent).toBe('Severity, low first');
  });
});

describe('the leadership view', () => {
  it('counts cases per status in lifecycle order, open and closed', () => {
    const root = show(<StatusCounts counts={{ closed: 4, triage: 2, containment: 1 }} />);

    expect(root.querySelector('.lede')?.textContent).toBe('3 open cases, 4 closed.');
    const tiles = [...root.querySelectorAll('.count')].map((d) => `${d.querySelector('dt')?.textContent}=${d.querySelector('dd')?.textContent}`);
    expect(tiles).toEqual([
      'New=0',
      'Triage=2',
      'Investigating=0',
      'Containment=1',
      'Eradication=0',
      'Recovery=0',
      'Closed=4',
    ]);
  });

  it('lists the deadlines to watch with their case, as text', () => {
    const k = caseFixture({ title: '<b>Helse</b>', clocks: [clock({ due_at: new Date(NOW - H).toISOString(), state: 'overdue' })] });
    const root = show(<DeadlineList urgent={urgentClocks([k], NOW)} now={NOW} />);

    const row = root.querySelector('tbody tr')!;
    expect(row.classList.contains('overdue')).toBe(true);
    expect(row.querySelector('a')?.textContent).toBe('BEV-2026-0042 <b>Helse</b>');
    expect(row.querySelector('a')?.getAttribute('href')).toBe('/cases/c1');
    expect(row.textContent).toContain('overdue by 1 h');
    expect(root.querySelector('b')).toBeNull();
  });

  it('says so when nothing is urgent', () => {
    const root = show(<DeadlineList urgent={[]} />);
    expect(root.textContent).toBe('No clock is overdue or due within 24 hours.');
  });
});
