// The one table of the SPA. On a wide screen it is an ordinary table; on a
// narrow one (a phone) each row becomes a card listing its cells, each under
// the title of its column, so nothing scrolls sideways. The markup is the
// same at every width: only the stylesheet (table.list) changes, and the
// table keeps its semantics for screen readers.

import type { ComponentChildren, JSX } from 'preact';

export interface Column<T> {
  title: string;
  cell: (row: T) => ComponentChildren;
  /** The cell names its row (a <th scope="row">), like a deadline's title. */
  rowHeader?: boolean;
  /** The title is for screen readers only (a column of buttons, say). */
  hideTitle?: boolean;
}

interface TableProps<T> {
  /** Says what the table lists, to screen readers. */
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  rowClass?: (row: T) => string | undefined;
  /** Extra attributes of each row, such as data-* for tests. */
  rowAttributes?: (row: T) => Record<string, string>;
  /** Shown instead of the table when there are no rows. */
  empty?: string;
  /** More classes for the table, beside "list". */
  class?: string;
}

export function Table<T>(p: TableProps<T>): JSX.Element {
  if (p.rows.length === 0 && p.empty !== undefined) return <p class="empty">{p.empty}</p>;
  return (
    <table class={p.class ? `list ${p.class}` : 'list'}>
      <caption class="visually-hidden">{p.caption}</caption>
      <thead>
        <tr>
          {p.columns.map((c) => (
            <th scope="col" key={c.title}>
              {c.hideTitle ? <span class="visually-hidden">{c.title}</span> : c.title}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {p.rows.map((row) => (
          <tr key={p.rowKey(row)} class={p.rowClass?.(row)} {...p.rowAttributes?.(row)}>
            {p.columns.map((c) => {
              const Cell = c.rowHeader ? 'th' : 'td';
              const value = c.cell(row);
              const blank = value === null || value === undefined || value === false || value === '';
              return (
                <Cell key={c.title} scope={c.rowHeader ? 'row' : undefined}>
                  {/* The column's title, shown above the cell where rows are cards; the header says it to screen readers. */}
                  {!c.hideTitle && !c.rowHeader && !blank && (
                    <span class="cell-title" aria-hidden="true">
                      {c.title}
                    </span>
                  )}
                  {value}
                </Cell>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
