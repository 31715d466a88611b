import { api } from '../api';
import { MyWorkPage } from '../tasks/mywork';
import { useLoad } from '../ui';
import { landsOnPortfolio } from './api';
import { PortfolioPage } from './portfolio';

/**
 * The home page: the portfolio for people who only observe cases (leadership)
 * and for anyone who chose it there; everyone else's work.
 */
export function Landing() {
  const chosen = landsOnPortfolio();
  const me = useLoad(() => (chosen === null ? api.me() : Promise.resolve(null)), []);
  if (chosen === true) return <PortfolioPage />;
  if (chosen === false) return <MyWorkPage />;
  // Most people are not observers only: their work shows while that is found out.
  const ms = me.data?.memberships ?? [];
  const observerOnly = ms.length > 0 && ms.every((m) => m.role === 'observer');
  return observerOnly ? <PortfolioPage /> : <MyWorkPage />;
}
