import { describe, expect, it } from 'vitest';
import type { Me } from '../api';
import { landingFor } from './landing';

function me(role: string, memberships: string[]): Me {
  return {
    user: { id: 'u', system_role: role },
    memberships: memberships.map((r, i) => ({ case_id: `c${i}`, role: r })),
  } as unknown as Me;
}

describe('landingFor', () => {
  it('sends observers of every case they have to the portfolio, unless they chose otherwise', () => {
    expect(landingFor(null, me('member', ['observer', 'observer']))).toBe('/portfolio');
    expect(landingFor(false, me('member', ['observer']))).toBeNull();
    expect(landingFor(null, me('member', ['observer', 'analyst']))).toBeNull();
    expect(landingFor(null, me('member', []))).toBeNull();
  });

  it('sends whoever chose the portfolio there', () => {
    expect(landingFor(true, null)).toBe('/portfolio');
    expect(landingFor(true, me('auditor', []))).toBe('/portfolio');
  });

  it('sends auditors, who have no case work, to the audit log', () => {
    expect(landingFor(null, me('auditor', []))).toBe('/audit');
    expect(landingFor(false, me('auditor', []))).toBe('/audit');
  });

  it('waits for the person before sending anyone on', () => {
    expect(landingFor(null, null)).toBeNull();
  });
});
