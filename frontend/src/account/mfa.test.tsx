import { afterEach, describe, expect, it, vi } from 'vitest';
import { act } from 'preact/test-utils';
import { button, cleanUp, show } from '../testing';
import { RecoveryCodes } from './mfa';
import { QRCode } from './qr';

afterEach(cleanUp);

describe('RecoveryCodes', () => {
  it('lets the user go on only after saying the codes are saved', () => {
    const onDone = vi.fn();
    const root = show(<RecoveryCodes codes={['aaaa-bbbb', 'cccc-dddd']} onDone={onDone} />);

    expect([...root.querySelectorAll('.codes code')].map((c) => c.textContent)).toEqual(['aaaa-bbbb', 'cccc-dddd']);
    const done = button(root, 'Done');
    expect(done.disabled).toBe(true);

    const box = root.querySelector<HTMLInputElement>('#codes-saved')!;
    act(() => {
      box.checked = true;
      box.dispatchEvent(new Event('change', { bubbles: true }));
    });
    act(() => done.click());

    expect(onDone).toHaveBeenCalledOnce();
  });
});

describe('QRCode', () => {
  it('draws the code as an SVG path with a label, without markup strings', () => {
    const root = show(<QRCode text="otpauth://totp/Bevis:me?secret=JBSWY3DPEHPK3PXP&issuer=Bevis" label="QR code" />);
    const svg = root.querySelector('svg')!;

    expect(svg.getAttribute('role')).toBe('img');
    expect(svg.getAttribute('aria-label')).toBe('QR code');
    const size = Number(svg.getAttribute('viewBox')!.split(' ')[2]);
    // A version-4 code (33 modules) or so for this URI, plus the 2-module border on each side.
    expect(size).toBeGreaterThanOrEqual(25);
    expect((size - 4 - 17) % 4).toBe(0);
    expect(svg.querySelector('path')!.getAttribute('d')).toMatch(/^(M\d+ \d+h1v1h-1z)+$/);
    expect(svg.hasAttribute('style')).toBe(false);
  });
});

