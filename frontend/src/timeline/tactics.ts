// The ATT&CK enterprise tactics in kill-chain order, with a colour each for
// the marks of the time axis (paired with the name in the legend, never
// colour alone).

export const TACTICS: { id: string; name: string; color: string }[] = [
  { id: 'TA0043', name: 'Reconnaissance', color: '#6b7280' },
  { id: 'TA0042', name: 'Resource Development', color: '#78716c' },
  { id: 'TA0001', name: 'Initial Access', color: '#b91c1c' },
  { id: 'TA0002', name: 'Execution', color: '#c2410c' },
  { id: 'TA0003', name: 'Persistence', color: '#a16207' },
  { id: 'TA0004', name: 'Privilege Escalation', color: '#4d7c0f' },
  { id: 'TA0005', name: 'Defense Evasion', color: '#15803d' },
  { id: 'TA0006', name: 'Credential Access', color: '#0f766e' },
  { id: 'TA0007', name: 'Discovery', color: '#0e7490' },
  { id: 'TA0008', name: 'Lateral Movement', color: '#1d4ed8' },
  { id: 'TA0009', name: 'Collection', color: '#4338ca' },
  { id: 'TA0011', name: 'Command and Control', color: '#7e22ce' },
  { id: 'TA0010', name: 'Exfiltration', color: '#be185d' },
  { id: 'TA0040', name: 'Impact', color: '#9f1239' },
];

/** The colour of an event without a tactic. */
export const NO_TACTIC_COLOR = '#94a3b8';

const byId = new Map(TACTICS.map((t) => [t.id, t]));

export function tacticName(id: string): string {
  return byId.get(id)?.name ?? id;
}

export function tacticColor(id: string | undefined): string {
  return (id && byId.get(id)?.color) || NO_TACTIC_COLOR;
}
