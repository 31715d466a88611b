// An item's lineage: what it was taken from (up the chain) and what was
// taken from it, as a tree. loadLineage builds it from parent_id and the
// case's evidence list; a lineage route on the server would replace that
// one function.

import { api, type EvidenceItem } from '../api';
import { ErrorAlert, Link, Section, useLoad } from '../ui';
import { itemHref } from './evidencelist';

export interface Lineage {
  /** From the root down to the item's parent. */
  ancestors: EvidenceItem[];
  children: EvidenceItem[];
}

const MAX_DEPTH = 20;
const MAX_PAGES = 20;

export async function loadLineage(item: EvidenceItem): Promise<Lineage> {
  const ancestors: EvidenceItem[] = [];
  let parent = item.parent_id;
  while (parent && ancestors.length < MAX_DEPTH) {
    let p: EvidenceItem;
    try {
      p = await api.evidence(parent);
    } catch {
      break; // a parent the caller may not see is not shown
    }
    ancestors.unshift(p);
    parent = p.parent_id;
  }
  const children: EvidenceItem[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await api.caseEvidence(item.case_id, cursor);
    children.push(...page.items.filter((x) => x.parent_id === item.id));
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return { ancestors, children };
}

function ItemLink({ item }: { item: EvidenceItem }) {
  return (
    <Link href={itemHref(item.id)}>
      <span class="reference">{item.exhibit_number}</span> {item.title}
    </Link>
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
        {lineage.children.length > 0 && (
          <ul>
            {lineage.children.map((c) => (
              <li key={c.id}>
                <ItemLink item={c} />
              </li>
            ))}
          </ul>
        )}
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
      {lineage.data && lineage.data.ancestors.length === 0 && lineage.data.children.length === 0 ? (
        <p class="empty">Nothing was taken from this item, and it was not taken from another.</p>
      ) : (
        lineage.data && <LineageTree lineage={lineage.data} item={item} />
      )}
    </Section>
  );
}
