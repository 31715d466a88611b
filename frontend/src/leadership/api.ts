// The leadership endpoints: the portfolio, and each case's situation report
// with its issued history. Types come from schema.ts like every other.

import { call } from '../api/session';
import type { components } from '../api/schema';

type Schemas = components['schemas'];
export type Portfolio = Schemas['Portfolio'];
export type PortfolioCase = Schemas['PortfolioCase'];
export type PortfolioCount = Schemas['PortfolioCount'];
export type PortfolioClock = Schemas['PortfolioClock'];
export type Sitrep = Schemas['Sitrep'];
export type SitrepTask = Schemas['SitrepTask'];
export type SitrepItem = Schemas['SitrepItem'];
export type SitrepClock = Schemas['SitrepClock'];
export type IssuedSitrep = Schemas['IssuedSitrep'];
export type IssuedSitrepList = Schemas['IssuedSitrepList'];

const enc = encodeURIComponent;

export const leadershipApi = {
  portfolio: async () => (await call<Portfolio>('GET', '/api/v1/portfolio')).body,
  sitrep: async (caseId: string) => (await call<Sitrep>('GET', `/api/v1/cases/${enc(caseId)}/sitrep`)).body,
  issued: async (caseId: string) => (await call<IssuedSitrepList>('GET', `/api/v1/cases/${enc(caseId)}/sitreps`)).body,
  issuedReport: async (caseId: string, n: number) =>
    (await call<IssuedSitrep>('GET', `/api/v1/cases/${enc(caseId)}/sitreps/${n}`)).body,
  issue: async (caseId: string) => (await call<IssuedSitrep>('POST', `/api/v1/cases/${enc(caseId)}/sitreps`)).body,
};

/** Where the person chose to land when they open Bevis: their work, or the portfolio. */
const LANDING_KEY = 'bevis.landing';
export function landsOnPortfolio(): boolean | null {
  try {
    const v = localStorage.getItem(LANDING_KEY);
    return v === null ? null : v === 'portfolio';
  } catch {
    return null;
  }
}
export function setLandsOnPortfolio(on: boolean): void {
  try {
    localStorage.setItem(LANDING_KEY, on ? 'portfolio' : 'work');
  } catch {
    // Private browsing without storage: the choice lasts this page only.
  }
}
