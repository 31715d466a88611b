import { useEffect } from 'preact/hooks';
import { api } from '../api';
import { MyWorkPage } from '../tasks/mywork';
import { navigate, useLoad } from '../ui';
import { landsOnPortfolio } from './api';

// Whether the person has arrived already in this page's life.
let landed = false;

/**
 * The home page: people who only observe cases (leadership), and anyone who
 * chose it there, are sent on to the portfolio when they arrive; everyone
 * else sees their work.
 */
export function Landing() {
  const chosen = landsOnPortfolio();
  // Only the first arrival is sent on: "My work" in the navigation then shows the person's work.
  const first = !landed;
  const me = useLoad(() => (chosen === null ? api.me() : Promise.resolve(null)), []);
  const ms = me.data?.memberships ?? [];
  const toPortfolio = chosen === true || (chosen === null && ms.length > 0 && ms.every((m) => m.role === 'observer'));
  useEffect(() => {
    if (me.loading) return;
    landed = true;
    if (first && toPortfolio) navigate('/portfolio', true);
  }, [me.loading, toPortfolio]);
  return <MyWorkPage />;
}
