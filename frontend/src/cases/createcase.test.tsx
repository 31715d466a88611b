import { act } from 'preact/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { choose, cleanUp, fakeServer, show, type } from '../testing';
import { CreateCaseForm } from './createcase';

afterEach(cleanUp);

describe('CreateCaseForm with templates', () => {
  it('opens a case from the chosen template, showing what the template brings and taking its severity and marking', async () => {
    const calls = fakeServer({
      'GET /api/v1/templates': [
        () =>
          Response.json({
            items: [{ id: 'tpl1', name: 'Ransomware', description: 'For encrypting malware.', severity: 4, tlp: 'RED', tags: ['ransomware'], jurisdictions: ['gdpr'], tasks: [{ title: 'Isolate' }, { title: 'Image' }] }],
          }),
      ],
      'POST /api/v1/cases': [() => Response.json({ id: 'c9' }, { status: 201 })],
    });
    const onCreated = vi.fn();
    const root = show(<CreateCaseForm onCreated={onCreated} />);
    await vi.waitFor(() => expect(root.querySelector('#template_id')).not.toBeNull());

    choose(root, '#template_id', 'tpl1');
    expect(root.querySelector('.field-hint')?.textContent).toBe('For encrypting malware. Adds 2 tasks, the tags ransomware and the gdpr clocks.');
    expect(root.querySelector<HTMLSelectElement>('#severity')?.value).toBe('4');
    expect(root.querySelector<HTMLSelectElement>('#tlp')?.value).toBe('RED');
    type(root, '#title', 'Encrypted file servers');
    await act(async () => root.querySelector('form')!.requestSubmit());

    expect(calls.find((c) => c.key === 'POST /api/v1/cases')?.body).toEqual({
      title: 'Encrypted file servers',
      summary: '',
      severity: 4,
      tlp: 'RED',
      classification_label: '',
      template_id: 'tpl1',
    });
    await vi.waitFor(() => expect(onCreated).toHaveBeenCalled());
  });

  it('offers no picker when there are no templates', async () => {
    const calls = fakeServer({ 'GET /api/v1/templates': [() => Response.json({ items: [] })] });
    const root = show(<CreateCaseForm onCreated={() => {}} />);
    await vi.waitFor(() => expect(calls.some((c) => c.key === 'GET /api/v1/templates')).toBe(true));
    await act(async () => {});
    expect(root.querySelector('#template_id')).toBeNull();
  });
});
