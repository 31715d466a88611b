import type { TLP } from '../api';

const TLP_CLASS: Record<string, string> = {
  CLEAR: 'tlp-clear',
  GREEN: 'tlp-green',
  AMBER: 'tlp-amber',
  'AMBER+STRICT': 'tlp-amber-strict',
  RED: 'tlp-red',
};

/** A TLP 2.0 label, in the colours the standard prescribes (on black). */
export function TlpBadge({ tlp }: { tlp: TLP | string }) {
  return <span class={`tlp ${TLP_CLASS[tlp] ?? 'tlp-unknown'}`}>TLP:{tlp}</span>;
}
