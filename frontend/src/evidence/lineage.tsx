// An item's lineage: what it was taken from (up the chain) and everything
// taken from it, as a tree, from the server's lineage route (which leaves
// out what the caller may not see).

import { api, type EvidenceItem, type LineageItem } from '../api';
import { ErrorAlert, Link, Section, useLoad } from '../ui';
import { itemHref } from './evidencelist';

export interface Lineage {
  /** From the root down to the item's parent. */
  ancestors: LineageItem[];
  /** Everything taken from the item, at any depth. */
  descendants: LineageItem[];
}

export async function loadLineage(item: EvidenceItem): Promise<Lineage> {
  const l = await api.lineage(item.id);
  return {
    ancestors: [...l.ancestors].sort((a, b) => a.generation - b.generation),
    descendants: l.descendants,
  };
}

function ItemLink({ item }: { item: LineageItem }) {
  return (
    <Link href={itemHref(item.id)}>
      <span class="reference">{item.exhibit_number}</span> {item.title}
    </Link>
  );
}

/** The items taken from parent, each with what was taken from it. */
function Descendants({ parent, all }: { parent: string; all: LineageItem[] }) {
  const kids = all.filter((d) => d.parent_id === parent);
  if (kids.length === 0) return null;
  return (
    <ul>
      {kids.map((c) => (
        <li key={c.id}>
          <ItemLink item={c} />
          {c.derivation?.tool && <span class="muted"> ({c.derivation.tool})</span>}
          <Descendants parent={c.id} all={all} />
        </li>
      ))}
    </ul>
  );
}

export function LineageTree({ lineage, item }: { lineage: Lineage; item: EvidenceItem }) {
  // Nested lists: each generation inside the one it was taken from.
  let tree = (
    <ul>
      <li aria-current="true">
        <strong>
          <span class="reference">{item.exhibit_number}</span> {item.title}
        </strong>{' '}
        (this item)
        <Descendants parent={item.id} all={lineage.descendants} />
      </li>
    </ul>
  );
  for (let i = lineage.ancestors.length - 1; i >= 0; i--) {
    const a = lineage.ancestors[i]!;
    tree = (
      <ul>
        <li>
          <ItemLink item={a} />
          {tree}
        </li>
      </ul>
    );
  }
  return <div class="lineage">{tree}</div>;
}

export function LineageSection({ item }: { item: EvidenceItem }) {
  const lineage = useLoad(() => loadLineage(item), [item.id, item.parent_id]);
  return (
    <Section title="Lineage" id="lineage">
      <ErrorAlert error={lineage.error} />
      {lineage.loading && !lineage.data && <p role="status">Loading…</p>}
      {lineage.data && lineage.data.ancestors.length === 0 && lineage.data.descendants.length === 0 ? (
        <p class="empty">Nothing was taken from this item, and it was not taken from another.</p>
      ) : (
        lineage.data && <LineageTree lineage={lineage.data} item={item} />
      )}
    </Section>
  );
}
