import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  api,
  call,
  currentSession,
  dispositionFilename,
  login,
  logout,
  NETWORK_ERROR,
  onSessionChange,
  parseRetryAfter,
  ProblemError,
  refreshSession,
  request,
  type Session,
  toProblem,
  UNEXPECTED_RESPONSE,
} from '../api';

function problemResponse(status: number, body: unknown, contentType = 'application/problem+json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': contentType } });
}

afterEach(async () => {
  // Forget any session a test opened (api.ts keeps it in module state).
  vi.stubGlobal('fetch', vi.fn(async () => new Response(null, { status: 204 })));
  await logout();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('toProblem', () => {
  it.each([
    {
      name: 'keeps every member of a full problem',
      status: 422,
      statusText: '',
      body: {
        type: 'https://bevis.example/problems/validation',
        title: 'Invalid input',
        status: 422,
        detail: 'Email is not an address.',
        code: 'validation_failed',
        errors: [{ field: 'email', message: 'must be an email address' }],
      },
      want: {
        type: 'https://bevis.example/problems/validation',
        title: 'Invalid input',
        status: 422,
        detail: 'Email is not an address.',
        code: 'validation_failed',
        errors: [{ field: 'email', message: 'must be an email address' }],
      },
    },
    {
      name: 'fills a missing title and status from the response',
      status: 502,
      statusText: 'Bad Gateway',
      body: { code: 'oops' },
      want: { type: 'about:blank', title: 'Bad Gateway', status: 502, code: 'oops' },
    },
    {
      name: 'drops malformed field errors',
      status: 422,
      statusText: '',
      body: { title: 'Invalid input', status: 422, errors: [{ field: 'email' }, 'x', { field: 'password', message: 'required' }] },
      want: { type: 'about:blank', title: 'Invalid input', status: 422, errors: [{ field: 'password', message: 'required' }] },
    },
    {
      name: 'makes a generic problem of a body that is not an object',
      status: 502,
      statusText: 'Bad Gateway',
      body: '<html>bad gateway</html>',
      want: { type: 'about:blank', title: 'Bad Gateway', status: 502, code: UNEXPECTED_RESPONSE },
    },
    {
      name: 'names the HTTP status when there is no status text',
      status: 500,
      statusText: '',
      body: undefined,
      want: { type: 'about:blank', title: 'The server failed to answer the request', status: 500, code: UNEXPECTED_RESPONSE },
    },
  ])('$name', ({ status, statusText, body, want }) => {
    expect(toProblem(status, statusText, body)).toEqual(want);
  });
});

describe('request', () => {
  it('throws a ProblemError carrying the parsed problem', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        problemResponse(401, {
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          detail: 'Wrong email or password.',
          code: 'invalid_credentials',
        }),
      ),
    );

    const err = await login({ email: 'a@example.org', password: 'pw' }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ProblemError);
    const problem = err as ProblemError;
    expect(problem.status).toBe(401);
    expect(problem.code).toBe('invalid_credentials');
    expect(problem.userMessage).toBe('Wrong email or password.');
  });

  it('posts the credentials as JSON and leaves out an empty one-time code', async () => {
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) =>
      Response.json({ access_token: 'at', expires_in: 600, user: { id: 'u1', name: 'A' } }),
    );
    vi.stubGlobal('fetch', fetchMock);

    await expect(login({ email: 'a@example.org', password: 'pw' })).resolves.toMatchObject({ user: { id: 'u1' } });

    expect(fetchMock).toHaveBeenCalledOnce();
    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('/api/v1/auth/login');
    expect(init?.method).toBe('POST');
    expect(new Headers(init?.headers).get('content-type')).toBe('application/json');
    expect(JSON.parse(String(init?.body))).toEqual({ email: 'a@example.org', password: 'pw' });
  });

  it('uses the title when the problem has no detail', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => problemResponse(404, { title: 'Not Found', status: 404, code: 'not_found' })));

    const err = (await request('GET', '/api/v1/nope').catch((e: unknown) => e)) as ProblemError;

    expect(err.userMessage).toBe('Not Found');
  });

  it('sends a create again with the same Idempotency-Key after a lost answer or a 503, and nothing else', async () => {
    vi.useFakeTimers();
    const answers = [
      () => Promise.reject(new TypeError('Failed to fetch')),
      () => problemResponse(503, { title: 'Service Unavailable', status: 503, code: 'database_unavailable' }),
      () => Response.json({ id: 'c1' }, { status: 201 }),
    ];
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => answers.shift()!());
    vi.stubGlobal('fetch', fetchMock);

    const made = request('POST', '/api/v1/cases', { title: 'T' });
    await vi.runAllTimersAsync();

    await expect(made).resolves.toEqual({ id: 'c1' });
    const keys = fetchMock.mock.calls.map(([, init]) => new Headers(init?.headers).get('idempotency-key'));
    expect(keys).toHaveLength(3);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(keys).size).toBe(1);

    // A read or a sign-in is sent once, and carries no key.
    fetchMock.mockClear();
    fetchMock.mockImplementation(async () => Promise.reject(new TypeError('Failed to fetch')));
    await expect(request('GET', '/api/v1/cases')).rejects.toBeInstanceOf(ProblemError);
    await expect(request('POST', '/api/v1/auth/login', {})).rejects.toBeInstanceOf(ProblemError);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(fetchMock.mock.calls.every(([, init]) => !new Headers(init?.headers).has('idempotency-key'))).toBe(true);
  });

  it('turns a network failure into a ProblemError', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));

    const err = (await request('GET', '/api/v1/cases').catch((e: unknown) => e)) as ProblemError;

    expect(err).toBeInstanceOf(ProblemError);
    expect(err.code).toBe(NETWORK_ERROR);
    expect(err.status).toBe(0);
  });
});

const grant = (token: string, extra: Record<string, unknown> = {}) =>
  Response.json({
    access_token: token,
    token_type: 'Bearer',
    expires_in: 600,
    user: { id: 'u1', agency_id: 'a1', email: 'a@example.org', name: 'Ada', system_role: 'member' },
    ...extra,
  });

type Route = (init: RequestInit | undefined) => Response | Promise<Response>;

/** A fetch stub answering by "METHOD path", each route a queue of answers (the last one repeats). */
function fakeServer(routes: Record<string, Route[]>) {
  const calls: { key: string; auth: string | null; ifMatch: string | null; body: unknown }[] = [];
  const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const key = `${init?.method ?? 'GET'} ${url}`;
    const headers = new Headers(init?.headers);
    calls.push({
      key,
      auth: headers.get('authorization'),
      ifMatch: headers.get('if-match'),
      body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    });
    const queue = routes[key];
    if (queue === undefined || queue.length === 0) throw new Error(`unexpected request ${key}`);
    const next = queue.length > 1 ? queue.shift()! : queue[0]!;
    return next(init);
  });
  vi.stubGlobal('fetch', fetchMock);
  return calls;
}

const problem = (status: number, code: string, headers: Record<string, string> = {}) => () =>
  new Response(JSON.stringify({ type: 'about:blank', title: code, status, code, detail: `${code} detail` }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });

describe('the session', () => {
  it('restores a session from the refresh cookie and sends the access token as a bearer token', async () => {
    const calls = fakeServer({
      'POST /api/v1/auth/refresh': [() => grant('restored')],
      'GET /api/v1/cases': [() => Response.json({ items: [] })],
    });

    const session = await refreshSession();
    await api.cases();

    expect(session?.user.name).toBe('Ada');
    expect(calls.map((c) => c.key)).toEqual(['POST /api/v1/auth/refresh', 'GET /api/v1/cases']);
    expect(calls[1]!.auth).toBe('Bearer restored');
  });

  it('answers null and stays signed out when there is no refresh cookie', async () => {
    fakeServer({ 'POST /api/v1/auth/refresh': [problem(401, 'unauthenticated')] });

    await expect(refreshSession()).resolves.toBeNull();
    expect(currentSession()).toBeNull();
  });

  it('refreshes once on a 401 and retries the request with the new token', async () => {
    const calls = fakeServer({
      'POST /api/v1/auth/login': [() => grant('old')],
      'POST /api/v1/auth/refresh': [() => grant('new')],
      'GET /api/v1/me': [problem(401, 'unauthenticated'), () => Response.json({ user: { id: 'u1' } })],
    });
    await login({ email: 'a@example.org', password: 'pw' });

    const me = await api.me();

    expect(me.user.id).toBe('u1');
    expect(calls.map((c) => `${c.key} ${c.auth ?? ''}`.trim())).toEqual([
      'POST /api/v1/auth/login',
      'GET /api/v1/me Bearer old',
      'POST /api/v1/auth/refresh',
      'GET /api/v1/me Bearer new',
    ]);
  });

  it('gives up after one refresh and ends the session when the refresh is refused', async () => {
    const seen: (Session | null)[] = [];
    const off = onSessionChange((s) => seen.push(s));
    const calls = fakeServer({
      'POST /api/v1/auth/login': [() => grant('old')],
      'POST /api/v1/auth/refresh': [problem(401, 'unauthenticated')],
      'GET /api/v1/me': [problem(401, 'unauthenticated')],
    });
    await login({ email: 'a@example.org', password: 'pw' });

    const err = (await api.me().catch((e: unknown) => e)) as ProblemError;
    off();

    expect(err.status).toBe(401);
    expect(calls.filter((c) => c.key === 'GET /api/v1/me')).toHaveLength(1);
    expect(seen.at(-1)).toBeNull();
    expect(currentSession()).toBeNull();
  });

  it('shares one refresh between concurrent callers, since each refresh rotates the cookie', async () => {
    const calls = fakeServer({ 'POST /api/v1/auth/refresh': [() => grant('t')] });

    const [a, b] = await Promise.all([refreshSession(), refreshSession()]);

    expect(a).toBe(b);
    expect(calls).toHaveLength(1);
  });

  it('keeps the session object across a routine refresh, so the app does not re-render for it', async () => {
    fakeServer({
      'POST /api/v1/auth/login': [() => grant('first')],
      'POST /api/v1/auth/refresh': [() => grant('second')],
    });
    const seen: (Session | null)[] = [];
    const first = await login({ email: 'a@example.org', password: 'pw' });
    const off = onSessionChange((s) => seen.push(s));

    const second = await refreshSession();
    off();

    expect(second).toBe(first);
    expect(seen).toEqual([]);
  });

  it('refreshes the access token a minute before it expires', async () => {
    vi.useFakeTimers();
    const calls = fakeServer({
      'POST /api/v1/auth/login': [() => grant('first', { expires_in: 600 })],
      'POST /api/v1/auth/refresh': [() => grant('second', { expires_in: 600 })],
    });
    await login({ email: 'a@example.org', password: 'pw' });

    await vi.advanceTimersByTimeAsync(538_000);
    expect(calls.map((c) => c.key)).toEqual(['POST /api/v1/auth/login']);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls.map((c) => c.key)).toEqual(['POST /api/v1/auth/login', 'POST /api/v1/auth/refresh']);
  });

  it('reports the MFA step as a ProblemError with code mfa_required, then signs in with the code', async () => {
    const calls = fakeServer({
      'POST /api/v1/auth/login': [problem(401, 'mfa_required'), () => grant('t')],
    });

    const first = (await login({ email: 'a@example.org', password: 'pw' }).catch((e: unknown) => e)) as ProblemError;
    const session = await login({ email: 'a@example.org', password: 'pw', totp: '123456' });

    expect(first.code).toBe('mfa_required');
    expect(session.user.id).toBe('u1');
    expect(calls[1]!.body).toEqual({ email: 'a@example.org', password: 'pw', totp: '123456' });
  });

  it('marks the session as enrolment-only when sign-in says so or a call answers mfa_enrolment_required', async () => {
    fakeServer({
      'POST /api/v1/auth/login': [() => grant('t', { mfa_enrolment_required: false })],
      'GET /api/v1/cases': [problem(403, 'mfa_enrolment_required')],
    });
    await login({ email: 'a@example.org', password: 'pw' });
    expect(currentSession()?.mfaEnrolmentRequired).toBe(false);

    const err = (await api.cases().catch((e: unknown) => e)) as ProblemError;

    expect(err.code).toBe('mfa_enrolment_required');
    expect(currentSession()?.mfaEnrolmentRequired).toBe(true);
  });

  it('keeps the Retry-After of a 429 on the problem', async () => {
    fakeServer({ 'POST /api/v1/auth/login': [problem(429, 'rate_limited', { 'retry-after': '120' })] });

    const err = (await login({ email: 'a@example.org', password: 'pw' }).catch((e: unknown) => e)) as ProblemError;

    expect(err.code).toBe('rate_limited');
    expect(err.retryAfter).toBe(120);
  });

  it('sends the ETag back as If-Match when changing a task', async () => {
    const calls = fakeServer({
      'POST /api/v1/auth/login': [() => grant('t')],
      'GET /api/v1/cases/c1/tasks/t1': [
        () => Response.json({ id: 't1', status: 'open' }, { headers: { etag: '"3"' } }),
      ],
      'PATCH /api/v1/cases/c1/tasks/t1': [
        () => Response.json({ id: 't1', status: 'done' }, { headers: { etag: '"4"' } }),
      ],
    });
    await login({ email: 'a@example.org', password: 'pw' });

    const { etag } = await api.getTask('c1', 't1');
    const changed = await api.patchTask('c1', 't1', { status: 'done' }, etag!);

    expect(calls.at(-1)!.ifMatch).toBe('"3"');
    expect(calls.at(-1)!.body).toEqual({ status: 'done' });
    expect(changed.etag).toBe('"4"');
  });

  it('signs out on the server with the access token and forgets the session', async () => {
    const calls = fakeServer({
      'POST /api/v1/auth/login': [() => grant('t')],
      'POST /api/v1/auth/logout': [() => new Response(null, { status: 204 })],
    });
    await login({ email: 'a@example.org', password: 'pw' });

    await logout();

    expect(calls.at(-1)).toMatchObject({ key: 'POST /api/v1/auth/logout', auth: 'Bearer t' });
    expect(currentSession()).toBeNull();
  });

  it('does not send an authenticated call when there is no session to be had', async () => {
    const calls = fakeServer({ 'POST /api/v1/auth/refresh': [problem(401, 'unauthenticated')] });

    const err = (await api.me().catch((e: unknown) => e)) as ProblemError;

    expect(err.status).toBe(401);
    expect(calls.map((c) => c.key)).toEqual(['POST /api/v1/auth/refresh']);
  });

  it('asks the server for a session before the first authenticated call', async () => {
    const calls = fakeServer({
      'POST /api/v1/auth/refresh': [() => grant('fresh')],
      'GET /api/v1/me/mfa': [() => Response.json({ totp_enabled: false })],
    });

    await call('GET', '/api/v1/me/mfa');

    expect(calls.map((c) => `${c.key} ${c.auth ?? ''}`.trim())).toEqual([
      'POST /api/v1/auth/refresh',
      'GET /api/v1/me/mfa Bearer fresh',
    ]);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    { value: '30', want: 30 },
    { value: null, want: undefined },
    { value: 'soon', want: undefined },
    { value: 'Sat, 28 Nov 2026 15:02:00 GMT', want: 60 },
  ])('$value → $want', ({ value, want }) => {
    expect(parseRetryAfter(value, Date.parse('Sat, 28 Nov 2026 15:01:00 GMT'))).toBe(want);
  });
});

describe('the case and evidence endpoints', () => {
  it('sends the case list filters as the server names them, lists comma-separated', async () => {
    const calls = fakeServer({
      'POST /api/v1/auth/refresh': [() => grant('t')],
      'GET /api/v1/cases?status=triage%2Cinvestigating&severity=1%2C2&clock_state=overdue&sort=-severity&cursor=abc&limit=20':
        [() => Response.json({ items: [], counts: { triage: 2, investigating: 1 } })],
    });

    const page = await api.cases({
      status: ['triage', 'investigating'],
      severity: [1, 2],
      clock_state: 'overdue',
      sort: '-severity',
      cursor: 'abc',
      limit: 20,
    });

    expect(calls.at(-1)!.key).toContain('GET /api/v1/cases?status=');
    expect(page.counts).toEqual({ triage: 2, investigating: 1 });
  });

  it('reads a case with its ETag and sends it back as If-Match on PATCH, transitions and clocks', async () => {
    const kase = { id: 'c1', version: 3 };
    const calls = fakeServer({
      'POST /api/v1/auth/refresh': [() => grant('t')],
      'GET /api/v1/cases/c1': [() => Response.json(kase, { headers: { etag: '"3"' } })],
      'PATCH /api/v1/cases/c1': [() => Response.json({ ...kase, version: 4 }, { headers: { etag: '"4"' } })],
      'POST /api/v1/cases/c1/transitions': [() => Response.json({ ...kase, version: 5 }, { headers: { etag: '"5"' } })],
      'POST /api/v1/cases/c1/clocks/gdpr.art33/met': [
        () => Response.json({ ...kase, version: 6 }, { headers: { etag: '"6"' } }),
      ],
    });

    const got = await api.getCaseTagged('c1');
    const patched = await api.patchCase('c1', { summary: 'x' }, got.etag);
    const moved = await api.transitionCase('c1', 'triage', 'scoped', patched.etag);
    await api.meetClock('c1', 'gdpr.art33', 'DPA-1', undefined, moved.etag);
    await api.meetClock('c1', 'gdpr.art33', 'DPA-2', '2026-11-28T10:00:00.000Z', moved.etag);

    expect(got.etag).toBe('"3"');
    expect(calls.slice(2).map((c) => [c.key, c.ifMatch, c.body])).toEqual([
      ['PATCH /api/v1/cases/c1', '"3"', { summary: 'x' }],
      ['POST /api/v1/cases/c1/transitions', '"4"', { to: 'triage', reason: 'scoped' }],
      ['POST /api/v1/cases/c1/clocks/gdpr.art33/met', '"5"', { reference: 'DPA-1' }],
      ['POST /api/v1/cases/c1/clocks/gdpr.art33/met', '"5"', { reference: 'DPA-2', met_at: '2026-11-28T10:00:00.000Z' }],
    ]);
  });

  it('turns a stale If-Match into a 412 problem the page can act on', async () => {
    fakeServer({
      'POST /api/v1/auth/refresh': [() => grant('t')],
      'PATCH /api/v1/cases/c1': [problem(412, 'precondition_failed')],
    });

    const err = (await api.patchCase('c1', { title: 'x' }, '"1"').catch((e: unknown) => e)) as ProblemError;

    expect(err.status).toBe(412);
    expect(err.code).toBe('precondition_failed');
  });

  it('registers evidence, records custody steps and verifies, with the bearer token', async () => {
    const calls = fakeServer({
      'POST /api/v1/auth/refresh': [() => grant('t')],
      'POST /api/v1/cases/c1/evidence': [() => Response.json({ id: 'e1' }, { status: 201 })],
      'POST /api/v1/evidence/e1/custody': [() => Response.json({ id: 'ev1', type: 'checked_out' }, { status: 201 })],
      'POST /api/v1/evidence/e1/verify': [() => Response.json({ result: 'ok', sha256: 'ab' })],
      'GET /api/v1/cases/c1/evidence?cursor=next': [() => Response.json({ items: [] })],
    });

    await api.registerEvidence('c1', { title: 'Disk', kind: 'disk_image', declared_hashes: { sha256: 'ab' } });
    await api.recordCustody('e1', { type: 'checked_out', purpose: 'imaging' });
    const v = await api.verifyEvidence('e1');
    await api.caseEvidence('c1', 'next');

    expect(v.result).toBe('ok');
    expect(calls.slice(1).map((c) => [c.key, c.auth, c.body])).toEqual([
      ['POST /api/v1/cases/c1/evidence', 'Bearer t', { title: 'Disk', kind: 'disk_image', declared_hashes: { sha256: 'ab' } }],
      ['POST /api/v1/evidence/e1/custody', 'Bearer t', { type: 'checked_out', purpose: 'imaging' }],
      ['POST /api/v1/evidence/e1/verify', 'Bearer t', undefined],
      ['GET /api/v1/cases/c1/evidence?cursor=next', 'Bearer t', undefined],
    ]);
  });

  it('downloads content with the bearer token, refreshing once on a 401, and names the file as the server does', async () => {
    const calls = fakeServer({
      'POST /api/v1/auth/refresh': [() => grant('old'), () => grant('new')],
      'GET /api/v1/evidence/e1/content': [
        problem(401, 'unauthenticated'),
        () =>
          new Response('bytes', {
            headers: { 'content-disposition': `attachment; filename="x.bin"; filename*=UTF-8''disk%20%C3%A6.img` },
          }),
      ],
    });

    const { blob, filename } = await api.downloadEvidence('e1');

    expect(await blob.text()).toBe('bytes');
    expect(filename).toBe('disk æ.img');
    expect(calls.filter((c) => c.key.startsWith('GET')).map((c) => c.auth)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('shows the detail of a refused download', async () => {
    fakeServer({
      'POST /api/v1/auth/refresh': [() => grant('t')],
      'GET /api/v1/evidence/e1/content': [problem(404, 'not_found')],
    });

    const err = (await api.downloadEvidence('e1').catch((e: unknown) => e)) as ProblemError;

    expect(err.userMessage).toBe('not_found detail');
  });

  it.each([
    ['attachment; filename="a \\"b\\".log"', 'a "b".log'],
    ['attachment; filename=plain.txt', 'plain.txt'],
    ["attachment; filename*=UTF-8''%E2%82%AC.pdf", '€.pdf'],
    ['attachment', undefined],
    [null, undefined],
  ])('reads the file name of Content-Disposition %s', (header, name) => {
    expect(dispositionFilename(header)).toBe(name);
  });
});
