import { useState } from 'preact/hooks';
import { asProblem, type Page, type ProblemError } from '../api';
import { ErrorAlert } from './form';

/** "Load more" for a cursor-paged list. */
export function LoadMore<T, P extends Page<T> = Page<T>>({
  page,
  fetchNext,
  onMore,
}: {
  page: P | undefined;
  fetchNext: (cursor: string) => Promise<P>;
  onMore: (next: P) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemError | null>(null);
  if (!page?.next_cursor) return null;
  const cursor = page.next_cursor;
  async function more() {
    setBusy(true);
    setProblem(null);
    try {
      const next = await fetchNext(cursor);
      onMore({ ...next, items: [...page!.items, ...next.items] });
    } catch (err) {
      setProblem(asProblem(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="more">
      <ErrorAlert error={problem} />
      <button type="button" class="secondary" disabled={busy} onClick={more}>
        {busy ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}
