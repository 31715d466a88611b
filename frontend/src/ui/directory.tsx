// Names for the IDs the API returns. Every agency is listed for every
// signed-in user; people only for the caller's own agency (the API shows no
// one else's). On a case, its members' names (which the member list carries)
// are added by CaseNames, so people of other agencies on the case are named
// too; anyone else is shown by a short form of their ID.

import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { type Agency, api, knownAgency, knownPerson, type Members, type User } from '../api';

export interface Directory {
  me: User;
  agencies: Map<string, Agency>;
  users: Map<string, User>;
  /** Names of the people on the case being shown, from its member list. */
  memberUsers?: Map<string, string>;
  /** Names and codes of the agencies on the case being shown. */
  memberAgencies?: Map<string, { name: string; code: string }>;
}

const DirectoryContext = createContext<Directory | null>(null);

export function DirectoryProvider({ me, children }: { me: User; children: ComponentChildren }) {
  const [dir, setDir] = useState<Directory>(() => ({ me, agencies: new Map(), users: new Map([[me.id, me]]) }));
  useEffect(() => {
    let live = true;
    // Either list may be refused (e.g. to an API token); names then fall back to IDs.
    void Promise.allSettled([api.agencies(), api.users()]).then(([a, u]) => {
      if (!live) return;
      const agencies = new Map<string, Agency>();
      if (a.status === 'fulfilled') for (const x of a.value.items) agencies.set(x.id, x);
      const users = new Map<string, User>([[me.id, me]]);
      if (u.status === 'fulfilled') for (const x of u.value.items) users.set(x.id, x);
      setDir({ me, agencies, users });
    });
    return () => {
      live = false;
    };
  }, [me]);
  return <DirectoryContext.Provider value={dir}>{children}</DirectoryContext.Provider>;
}

/** Adds the names a case's member list carries to the directory. */
export function withMembers(d: Directory, m: Members | undefined): Directory {
  if (m === undefined) return d;
  const memberUsers = new Map<string, string>();
  for (const u of m.users) if (u.name) memberUsers.set(u.user_id, u.name);
  const memberAgencies = new Map<string, { name: string; code: string }>();
  for (const a of m.agencies) if (a.name) memberAgencies.set(a.agency_id, { name: a.name, code: a.code ?? '' });
  return { ...d, memberUsers, memberAgencies };
}

/** Names the members of a case everywhere below it (custodians, assignees, comment authors). */
export function CaseNames({ members, children }: { members: Members | undefined; children: ComponentChildren }) {
  const d = useDirectory();
  return <DirectoryContext.Provider value={withMembers(d, members)}>{children}</DirectoryContext.Provider>;
}

export function useDirectory(): Directory {
  const d = useContext(DirectoryContext);
  if (d === null) throw new Error('useDirectory outside DirectoryProvider');
  return d;
}

export function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(-8)}` : id;
}

/**
 * A person's name: from the caller's agency, the case's member list, or the
 * names the API gave with the object that refers to them; a person of
 * another agency with their agency's name.
 */
export function userName(d: Directory, id: string | undefined, withAgency = true): string {
  if (!id) return '';
  if (id === d.me.id) return `${d.me.name} (you)`;
  const own = d.users.get(id)?.name;
  if (own) return own;
  const known = knownPerson(id);
  const name = d.memberUsers?.get(id) || known?.name;
  if (!name) return `User …${shortId(id)}`;
  return withAgency && known && known.agency_id !== d.me.agency_id && known.agency_name ? `${name} (${known.agency_name})` : name;
}

export function agencyName(d: Directory, id: string | undefined): string {
  if (!id) return '';
  const a = d.agencies.get(id) ?? d.memberAgencies?.get(id) ?? knownAgency(id);
  if (!a) return `Agency …${shortId(id)}`;
  return a.code ? `${a.name} (${a.code})` : a.name;
}

// Names are isolated (bdi), so a name with right-to-left or override
// characters cannot reorder the text around it.
/** A person's name; withAgency={false} where their agency is shown beside it already. */
export function UserName({ id, withAgency = true }: { id: string | undefined; withAgency?: boolean }) {
  return <bdi>{userName(useDirectory(), id, withAgency)}</bdi>;
}

export function AgencyName({ id }: { id: string | undefined }) {
  return <bdi>{agencyName(useDirectory(), id)}</bdi>;
}
