// Names for the IDs the API returns. Every agency is listed for every
// signed-in user; people only for the caller's own agency (the API shows no
// one else's), so anyone else is shown by a short form of their ID.

import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { type Agency, api, type User } from './api';

export interface Directory {
  me: User;
  agencies: Map<string, Agency>;
  users: Map<string, User>;
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

export function useDirectory(): Directory {
  const d = useContext(DirectoryContext);
  if (d === null) throw new Error('useDirectory outside DirectoryProvider');
  return d;
}

function shortId(id: string): string {
  return id.length > 8 ? `${id.slice(-8)}` : id;
}

export function userName(d: Directory, id: string | undefined): string {
  if (!id) return '';
  if (id === d.me.id) return `${d.me.name} (you)`;
  const u = d.users.get(id);
  return u ? u.name : `User …${shortId(id)}`;
}

export function agencyName(d: Directory, id: string | undefined): string {
  if (!id) return '';
  const a = d.agencies.get(id);
  return a ? `${a.name} (${a.code})` : `Agency …${shortId(id)}`;
}

export function UserName({ id }: { id: string | undefined }) {
  return <>{userName(useDirectory(), id)}</>;
}

export function AgencyName({ id }: { id: string | undefined }) {
  return <>{agencyName(useDirectory(), id)}</>;
}
