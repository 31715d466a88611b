// Administration: agencies and people. Admins see every agency and person;
// an agency admin sees their own agency's people.

import { api, type User } from '../api';
import { ErrorAlert, useDirectory, useLoad } from '../ui';
import { AgenciesSection } from './agencies';
import { PeopleSection } from './people';
import { SSOSection } from './sso';
import { TemplatesSection } from './templates';

/** Who reaches the Administration page. */
export function administers(me: User): boolean {
  return me.system_role === 'admin' || me.system_role === 'agency_admin';
}

export function AdminPage() {
  const { me } = useDirectory();
  const agencies = useLoad(() => api.agencies(), []);
  const people = useLoad(() => api.usersOf(), []);
  const isAdmin = me.system_role === 'admin';
  return (
    <div class="page admin">
      <h1 id="page-title" tabIndex={-1}>
        Administration
      </h1>
      {!administers(me) && <p>Only admins and agency admins administer Bevis.</p>}
      <ErrorAlert error={agencies.error ?? people.error} />
      {agencies.data && (
        <AgenciesSection
          agencies={isAdmin ? agencies.data.items : agencies.data.items.filter((a) => a.id === me.agency_id)}
          canEdit={isAdmin}
          onChanged={agencies.reload}
        />
      )}
      {people.data && agencies.data && <PeopleSection people={people.data.items} me={me} agencies={agencies.data.items} onChanged={people.reload} />}
      {agencies.data && administers(me) && <SSOSection agencies={agencies.data.items} fixed={isAdmin ? undefined : me.agency_id} canEdit={isAdmin} />}
      {isAdmin && <TemplatesSection canEdit />}
    </div>
  );
}
