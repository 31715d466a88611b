// The names of the people and agencies the API refers to by ID. Every
// object of a case that refers to someone carries their names ("people",
// "agencies"); the client learns them from each answer, so a person of
// another agency reads as a name everywhere, without a request of its own.

import type { components } from './schema';

export type PersonName = components['schemas']['PersonName'];
export type AgencyName = components['schemas']['AgencyName'];

const people = new Map<string, PersonName>();
const agencies = new Map<string, AgencyName>();

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Learns the names an answer carries, wherever they are in it. */
export function learnNames(body: unknown): void {
  if (Array.isArray(body)) {
    for (const v of body) learnNames(v);
    return;
  }
  if (!isRecord(body)) return;
  for (const [key, value] of Object.entries(body)) {
    if (key === 'people' && isRecord(value)) {
      for (const [id, p] of Object.entries(value)) if (isRecord(p) && typeof p.name === 'string') people.set(id, p as PersonName);
    } else if (key === 'agencies' && isRecord(value)) {
      for (const [id, a] of Object.entries(value)) if (isRecord(a) && typeof a.name === 'string') agencies.set(id, a as AgencyName);
    } else if (typeof value === 'object' && value !== null) {
      learnNames(value);
    }
  }
}

export function knownPerson(id: string): PersonName | undefined {
  return people.get(id);
}

export function knownAgency(id: string): AgencyName | undefined {
  return agencies.get(id);
}

/** Forgets every name (at sign-out, and between tests). */
export function forgetNames(): void {
  people.clear();
  agencies.clear();
}
