// Resumable evidence uploads over tus 1.0 (tus-js-client): the bytes go in
// chunks, a lost connection is retried and resumed from the server's offset,
// and a person may pause and resume. The server hashes as the bytes arrive.

import { useEffect, useRef, useState } from 'preact/hooks';
import { DetailedError, Upload } from 'tus-js-client';
import { bearerToken, type Hashes, ProblemError, refreshSession, toProblem, uploadEndpoint } from '../api';
import { ErrorAlert, formatBytes, useLeaveGuard } from '../ui';

/** Bytes per PATCH: small enough to lose little on a broken link, large enough to be quick. */
export const CHUNK_SIZE = 16 * 1024 * 1024;

/** The problem a failed tus request carries (e.g. 422 hash_mismatch), or a generic one. */
export function uploadProblem(err: unknown): ProblemError {
  if (err instanceof DetailedError && err.originalResponse) {
    const res = err.originalResponse;
    let body: unknown;
    try {
      body = JSON.parse(res.getBody());
    } catch {
      body = undefined;
    }
    return new ProblemError(toProblem(res.getStatus(), '', body));
  }
  return new ProblemError({
    type: 'about:blank',
    title: 'The upload stopped: the server could not be reached. Resume it when the connection is back.',
    status: 0,
    code: 'network_error',
  });
}

/** Whether tus should try a failed request again: not for refusals, except a 401 after refreshing the session. */
export function shouldRetry(status: number | undefined): boolean {
  if (status === undefined || status === 0) return true;
  if (status === 401) return true;
  if (status === 409 || status === 423) return true;
  return status < 400 || status >= 500;
}

export const HASH_NAMES: Record<keyof Hashes, string> = { sha256: 'SHA-256', sha1: 'SHA-1', md5: 'MD5' };

export type HashCheck = { alg: keyof Hashes; declared: string; computed: string | undefined; match: boolean };

/** Compares the hashes declared at registration with those Bevis computed. */
export function compareHashes(declared: Hashes, computed: Hashes | null): HashCheck[] {
  const out: HashCheck[] = [];
  for (const alg of ['sha256', 'sha1', 'md5'] as const) {
    const d = declared[alg];
    if (!d) continue;
    const c = computed?.[alg];
    out.push({ alg, declared: d, computed: c, match: c !== undefined && c.toLowerCase() === d.toLowerCase() });
  }
  return out;
}

type Phase = 'idle' | 'uploading' | 'paused' | 'done' | 'failed';

/**
 * Picks a file and uploads it as an item's content. onSettled runs once the
 * server has it all, or has refused it (a refusal is on the custody record).
 */
export function UploadPanel({ itemId, onSettled }: { itemId: string; onSettled: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [phase, setPhase] = useState<Phase>('idle');
  const [sent, setSent] = useState(0);
  const [problem, setProblem] = useState<ProblemError | null>(null);
  const upload = useRef<Upload | null>(null);
  // Leaving mid-upload would pause it: the person is asked first.
  useLeaveGuard(phase === 'uploading');

  // Leaving the page pauses the upload; it resumes from the server's offset next time.
  useEffect(
    () => () => {
      void upload.current?.abort();
    },
    [],
  );

  async function start() {
    if (file === null) return;
    setProblem(null);
    setSent(0);
    const up = new Upload(file, {
      endpoint: uploadEndpoint(itemId),
      chunkSize: CHUNK_SIZE,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      metadata: { filename: file.name },
      removeFingerprintOnSuccess: true,
      onBeforeRequest: async (req) => {
        req.setHeader('Authorization', `Bearer ${await bearerToken()}`);
      },
      onShouldRetry: (err) => {
        const status = err.originalResponse?.getStatus();
        if (status === 401) void refreshSession();
        return shouldRetry(status);
      },
      onProgress: (bytes) => setSent(bytes),
      onError: (err) => {
        const p = uploadProblem(err);
        setProblem(p);
        setPhase('failed');
        if (!shouldRetry(p.status)) onSettled();
      },
      onSuccess: () => {
        setPhase('done');
        onSettled();
      },
    });
    upload.current = up;
    setPhase('uploading');
    const previous = await up.findPreviousUploads();
    if (previous.length > 0) up.resumeFromPreviousUpload(previous[0]!);
    up.start();
  }

  async function pause() {
    await upload.current?.abort();
    setPhase('paused');
  }

  function resume() {
    setProblem(null);
    setPhase('uploading');
    upload.current?.start();
  }

  const total = file?.size ?? 0;
  const pct = total > 0 ? Math.floor((sent / total) * 100) : 0;
  return (
    <div class="upload">
      <div class="field">
        <label for={`upload-${itemId}`}>File</label>
        <p class="field-hint" id={`upload-${itemId}-hint`}>
          Sent in chunks and resumable: a broken connection is retried, and you can pause and resume. Bevis hashes the
          bytes as they arrive.
        </p>
        <input
          id={`upload-${itemId}`}
          type="file"
          aria-describedby={`upload-${itemId}-hint`}
          disabled={phase === 'uploading' || phase === 'paused'}
          onChange={(e) => {
            setFile(e.currentTarget.files?.[0] ?? null);
            setPhase('idle');
            setProblem(null);
          }}
        />
      </div>
      <ErrorAlert error={problem} />
      {file && (phase === 'uploading' || phase === 'paused' || phase === 'done') && (
        <p class="progress">
          <label for={`upload-${itemId}-progress`}>
            {phase === 'done' ? 'Received' : phase === 'paused' ? 'Paused at' : 'Uploading'}: {formatBytes(sent)} of{' '}
            {formatBytes(total)} ({pct}%)
          </label>{' '}
          <progress id={`upload-${itemId}-progress`} max={total || 1} value={sent} />
        </p>
      )}
      <div class="actions">
        {(phase === 'idle' || phase === 'done') && (
          <button type="button" class="primary" disabled={file === null || phase === 'done'} onClick={() => void start()}>
            Upload
          </button>
        )}
        {phase === 'uploading' && (
          <button type="button" class="secondary" onClick={() => void pause()}>
            Pause
          </button>
        )}
        {phase === 'paused' && (
          <button type="button" class="primary" onClick={resume}>
            Resume
          </button>
        )}
        {phase === 'failed' && shouldRetry(problem?.status) && (
          <button type="button" class="primary" onClick={resume}>
            Retry
          </button>
        )}
      </div>
    </div>
  );
}
