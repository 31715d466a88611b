import { useEffect } from 'preact/hooks';
import { api, type Me } from '../api';
import { MyWorkPage } from '../tasks/mywork';
import { navigate, useLoad } from '../ui';
import { landsOnPortfolio } from './api';

// Whether the person has arrived already in this page's life.
let landed = false;

/**
 * Where a person arriving on the home page is sent, if anywhere: the
 * portfolio for those who chose it, and by default for people who only
 * observe cases (leadership); the audit log for auditors, who hold no case
 * work of their own to show (unless they chose the portfolio).
 */
export function landingFor(chosen: boolean | null, me: Me | null): '/portfolio' | '/audit' | null {
  if (chosen === true) return '/portfolio';
  if (me === null) return null;
  if (me.user.system_role === 'auditor') return '/audit';
  const ms = me.memberships ?? [];
  if (chosen === null && ms.length > 0 && ms.every((m) => m.role === 'observer')) return '/portfolio';
  return null;
}

/** The home page: the person's work, or, on their first arrival, the page landingFor names. */
export function Landing() {
  const chosen = landsOnPortfolio();
  // Only the first arrival is sent on: "My work" in the navigation then shows the person's work.
  const first = !landed;
  const me = useLoad(() => (chosen === true ? Promise.resolve(null) : api.me()), []);
  const to = landingFor(chosen, me.data ?? null);
  useEffect(() => {
    if (me.loading) return;
    landed = true;
    if (first && to) navigate(to, true);
  }, [me.loading, to]);
  return <MyWorkPage />;
}
