import { afterEach, describe, expect, it } from 'vitest';
import { cleanUp, show } from '../testing';
import { Field } from './form';
import { browserZone, formatTime, isoToLocal, localToISO, setTimeZone, Time, zoneHint } from './time';

afterEach(async () => {
  setTimeZone('');
  await cleanUp();
});

const WINTER = '2026-01-15T11:00:00Z';
const SUMMER = '2026-07-01T10:00:00Z';

describe('times', () => {
  it('are shown in the person’s zone, named, with UTC on hover', () => {
    setTimeZone('Asia/Tokyo');
    const root = show(<Time iso={WINTER} />);
    const time = root.querySelector('time')!;
    expect(time.getAttribute('datetime')).toBe(WINTER);
    expect(time.textContent).toMatch(/8:00\s?PM/);
    expect(time.textContent).toMatch(/GMT\+9|JST/);
    expect(time.getAttribute('title')).toBe('2026-01-15 11:00 UTC');

    setTimeZone('Europe/Oslo');
    expect(formatTime(WINTER)).toMatch(/12:00\s?PM/);
    expect(formatTime(WINTER)).toMatch(/GMT\+1|CET/);
  });

  it('fall back to the browser’s zone without a setting, or with a name the browser does not know', () => {
    setTimeZone('Mars/Olympus_Mons');
    expect(zoneHint()).toContain(browserZone());
  });

  it('are typed as wall time in the person’s zone, summer time included, and read back the same', () => {
    setTimeZone('Europe/Oslo');
    expect(localToISO('2026-01-15T12:00')).toBe('2026-01-15T11:00:00.000Z');
    expect(localToISO('2026-07-01T12:00')).toBe('2026-07-01T10:00:00.000Z');
    expect(isoToLocal(WINTER)).toBe('2026-01-15T12:00');
    expect(isoToLocal(SUMMER)).toBe('2026-07-01T12:00');
    setTimeZone('America/New_York');
    expect(isoToLocal(SUMMER)).toBe('2026-07-01T06:00');
    expect(localToISO('2026-07-01T06:00')).toBe('2026-07-01T10:00:00.000Z');
    expect(localToISO('')).toBeUndefined();
  });

  it('say the source’s own zone where it recorded the time', () => {
    const root = show(<Time iso={WINTER} sourceZone="America/Chicago" />);
    expect(root.textContent).toContain('(recorded by its source in America/Chicago)');
  });
});

describe('a date and time field', () => {
  it('says which zone it is in', () => {
    setTimeZone('Europe/Oslo');
    const root = show(<Field id="due" label="Due" type="datetime-local" hint="Optional." value="" onInput={() => {}} />);
    const hint = root.querySelector('#due-hint')!;
    expect(hint.textContent).toMatch(/^Optional\. Times are in Europe\/Oslo \(UTC\+0[12]:00\)\.$/);
    expect(root.querySelector('input')?.getAttribute('aria-describedby')).toBe('due-hint');
  });
});
