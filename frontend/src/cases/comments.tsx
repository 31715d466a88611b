import { useState } from 'preact/hooks';
import { api, type UserMember } from '../api';
import { ErrorAlert, Field, LoadMore, Time, useAction, useDirectory, useLoad, userName, UserName } from '../ui';

interface CommentsProps {
  caseId: string;
  taskId?: string | undefined;
  /** The people on the case, who may be mentioned. */
  people: UserMember[];
  /** Prefix for element ids, so a case's and a task's comment forms can share a page. */
  idPrefix: string;
  canWrite: boolean;
}

/** A comment thread, oldest first, with a form to add one that may mention people on the case. */
export function Comments({ caseId, taskId, people, idPrefix, canWrite }: CommentsProps) {
  const dir = useDirectory();
  const list = useLoad(() => api.comments(caseId, taskId), [caseId, taskId]);
  const [body, setBody] = useState('');
  const [mentions, setMentions] = useState<string[]>([]);
  const { busy, problem, run } = useAction();

  async function submit(e: Event) {
    e.preventDefault();
    const ok = await run(async () => {
      await api.addComment(caseId, taskId, body, mentions);
    });
    if (ok) {
      setBody('');
      setMentions([]);
      list.reload();
    }
  }

  function toggle(id: string, on: boolean) {
    setMentions((m) => (on ? [...m, id] : m.filter((x) => x !== id)));
  }

  const others = people.filter((p) => p.user_id !== dir.me.id);
  return (
    <div class="comments">
      <ErrorAlert error={list.error} />
      {list.data && list.data.items.length === 0 && <p class="empty">No comments yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <ol class="comment-list">
          {list.data.items.map((c) => (
            <li key={c.id} class="comment">
              <p class="comment-meta">
                <strong>
                  <UserName id={c.author_id} />
                </strong>{' '}
                <Time iso={c.created_at} />
                {c.mentions && c.mentions.length > 0 && (
                  <span class="mentions"> · mentions {c.mentions.map((m) => userName(dir, m)).join(', ')}</span>
                )}
              </p>
              <p class="comment-body">{c.body}</p>
            </li>
          ))}
        </ol>
      )}
      <LoadMore page={list.data} fetchNext={(cur) => api.comments(caseId, taskId, cur)} onMore={list.set} />
      {canWrite && (
        <form onSubmit={submit} aria-busy={busy}>
          <ErrorAlert error={problem} />
          <Field
            id={`${idPrefix}-comment`}
            field="body"
            label="Comment"
            multiline
            required
            maxLength={20000}
            value={body}
            onInput={setBody}
            problem={problem}
          />
          {others.length > 0 && (
            <fieldset class="checks">
              <legend>Mention</legend>
              {others.map((p) => (
                <div class="check" key={p.user_id}>
                  <input
                    type="checkbox"
                    id={`${idPrefix}-mention-${p.user_id}`}
                    checked={mentions.includes(p.user_id)}
                    onChange={(e) => toggle(p.user_id, e.currentTarget.checked)}
                  />
                  <label for={`${idPrefix}-mention-${p.user_id}`}>{userName(dir, p.user_id)}</label>
                </div>
              ))}
            </fieldset>
          )}
          <button type="submit" class="secondary" disabled={busy}>
            {busy ? 'Posting…' : 'Post comment'}
          </button>
        </form>
      )}
    </div>
  );
}
