import { afterEach, describe, expect, it, vi } from 'vitest';
import { login, NETWORK_ERROR, ProblemError, request, toProblem, UNEXPECTED_RESPONSE } from './api';

function problemResponse(status: number, body: unknown, contentType = 'application/problem+json'): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': contentType } });
}

afterEach(() => {
  vi.unstubAllGlobals();
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
    const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => new Response(null, { status: 204 }));
    vi.stubGlobal('fetch', fetchMock);

    await expect(login({ email: 'a@example.org', password: 'pw' })).resolves.toBeUndefined();

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

  it('turns a network failure into a ProblemError', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));

    const err = (await request('GET', '/api/v1/cases').catch((e: unknown) => e)) as ProblemError;

    expect(err).toBeInstanceOf(ProblemError);
    expect(err.code).toBe(NETWORK_ERROR);
    expect(err.status).toBe(0);
  });
});
