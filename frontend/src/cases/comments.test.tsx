import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanUp, fakeServer, show } from '../testing';
import { Comments } from './comments';

afterEach(cleanUp);

describe('Comments', () => {
  it('names a person of another agency by the names the answer carries, with their agency', async () => {
    fakeServer({
      'GET /api/v1/cases/c1/comments': [
        () =>
          Response.json({
            items: [
              {
                id: 'k1',
                case_id: 'c1',
                author_id: 'u-kari',
                body: 'Images are hashed.',
                mentions: ['u-ann'],
                created_at: '2026-11-28T09:00:00Z',
                people: {
                  'u-kari': { name: 'Kari Nordmann', agency_id: 'a-pst', agency_name: 'Police Security Service' },
                  'u-ann': { name: 'Ann Analyst', agency_id: 'a-ncsc', agency_name: 'Coordination Centre' },
                },
                agencies: { 'a-pst': { name: 'Police Security Service', code: 'PST' } },
              },
            ],
          }),
      ],
    });
    const root = show(<Comments caseId="c1" people={[]} idPrefix="case" canWrite={false} />);

    await vi.waitFor(() => expect(root.querySelector('.comment-meta strong')?.textContent).toBe('Kari Nordmann (Police Security Service)'));
    // Someone of the caller's own agency needs no agency after the name.
    expect(root.querySelector('.mentions')?.textContent).toBe(' · mentions Ann Analyst');
    expect(root.textContent).not.toContain('User …');
  });
});
