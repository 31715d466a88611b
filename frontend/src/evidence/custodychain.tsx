// How an item's custody is shown: the state it is in now, and the chain of
// events that led there.

import type { CustodyEvent, CustodyState } from '../api';
import { AgencyName, humanize, ShortHash, Time, UserName } from '../ui';

/** The derived custody state, in a few lines. */
export function CustodySummary({ state }: { state: CustodyState }) {
  return (
    <dl class="facts custody-state">
      <dt>Custodian</dt>
      <dd>
        <AgencyName id={state.custodian_agency_id} />
        {state.custodian_user_id && (
          <>
            , <UserName id={state.custodian_user_id} withAgency={false} />
          </>
        )}
      </dd>
      <dt>Location</dt>
      <dd>{state.location || 'not recorded'}</dd>
      <dt>Checked out</dt>
      <dd class="checked-out">{state.checked_out_by ? <UserName id={state.checked_out_by} /> : 'no'}</dd>
      {state.transfer_offered_to && (
        <>
          <dt>Transfer offered to</dt>
          <dd>
            <AgencyName id={state.transfer_offered_to} />
          </dd>
        </>
      )}
      <dt>Seal</dt>
      <dd>{state.sealed ? `sealed, no. ${state.seal_number ?? ''}` : state.seal_broken ? 'broken: reseal it' : 'none'}</dd>
      <dt>Legal hold</dt>
      <dd>{state.legal_hold ? 'yes' : 'no'}</dd>
      <dt>Integrity</dt>
      <dd>
        <span class={`badge integrity-${state.integrity ?? 'unknown'}`}>{state.integrity ?? 'not verified yet'}</span>
        {state.last_verified_at && (
          <>
            {' '}
            (verified <Time iso={state.last_verified_at} />)
          </>
        )}
      </dd>
      {state.final && (
        <>
          <dt>Final</dt>
          <dd>{humanize(state.final)}: nothing more can happen to it</dd>
        </>
      )}
    </dl>
  );
}

function EventDetails({ e }: { e: CustodyEvent }) {
  const d = e.details;
  const parts: preact.JSX.Element[] = [];
  if (e.purpose) parts.push(<>purpose: {e.purpose}</>);
  if (d.seal_number) parts.push(<>seal {d.seal_number}</>);
  if (d.reason) parts.push(<>reason: {d.reason}</>);
  if (d.legal_basis) parts.push(<>legal basis: {d.legal_basis}</>);
  if (d.authority_reference) parts.push(<>authority ref. {d.authority_reference}</>);
  if (d.result) parts.push(<>result: {d.result}</>);
  if (d.sha256) parts.push(<ShortHash value={d.sha256} label="SHA-256" />);
  if (e.identity_check) parts.push(<>identity checked by {e.identity_check}</>);
  if (e.notes) parts.push(<span class="notes">{e.notes}</span>);
  return (
    <>
      {parts.map((p, i) => (
        <span key={i} class="detail">
          {i > 0 && ' · '}
          {p}
        </span>
      ))}
    </>
  );
}

/** The custody events in order, corrections shown as superseding the events they correct. */
export function CustodyChain({ events }: { events: CustodyEvent[] }) {
  const seqOf = new Map(events.map((e) => [e.id, e.seq]));
  return (
    <ol class="custody-chain">
      {events.map((e) => {
        const superseded = (e.superseded_by?.length ?? 0) > 0;
        return (
          <li key={e.id} id={`event-${e.seq}`} class={`custody-event${superseded ? ' superseded' : ''}${e.type === 'correction' ? ' correction' : ''}`}>
            <p class="event-head">
              <strong>
                #{e.seq} {humanize(e.type)}
              </strong>{' '}
              <Time iso={e.occurred_at} /> by <UserName id={e.actor_user_id} withAgency={!e.actor_agency_id} />
              {e.actor_agency_id && (
                <>
                  {' '}
                  (<AgencyName id={e.actor_agency_id} />)
                </>
              )}
              {(e.counterparty_agency_id || e.counterparty_user_id || e.counterparty_external) && (
                <>
                  {' → '}
                  {e.counterparty_user_id && <UserName id={e.counterparty_user_id} />}
                  {e.counterparty_user_id && e.counterparty_agency_id && ', '}
                  {e.counterparty_agency_id && <AgencyName id={e.counterparty_agency_id} />}
                  {e.counterparty_external}
                </>
              )}
              {e.location && <> · at {e.location}</>}
            </p>
            <p class="event-details">
              <EventDetails e={e} />
            </p>
            {e.supersedes && <p class="event-note">Corrects event #{seqOf.get(e.supersedes) ?? '?'}.</p>}
            {superseded && (
              <p class="event-note">
                Superseded by a correction ({e.superseded_by!.map((id) => `#${seqOf.get(id) ?? '?'}`).join(', ')}); kept
                on the record as it was.
              </p>
            )}
            <p class="event-hash">
              Recorded <Time iso={e.recorded_at} /> · hash <ShortHash value={e.hash} label="event hash" /> · after{' '}
              <ShortHash value={e.prev_hash} label="previous hash" />
            </p>
          </li>
        );
      })}
    </ol>
  );
}
