// A link to a printable custody report: the report is fetched with the
// session's token and shown in a new tab, ready to print.

import { api } from '../api';
import { ErrorAlert, useAction } from '../ui';

type Load = () => Promise<{ blob: Blob }>;

export function ReportLink({ label, load }: { label: string; load: Load }) {
  const open = useAction();
  return (
    <span class="report-link">
      <button
        type="button"
        class="link"
        disabled={open.busy}
        onClick={() => {
          // Opened now, while the click counts, and filled when the report arrives.
          const tab = window.open('', '_blank');
          void open.run(async () => {
            try {
              const { blob } = await load();
              const url = URL.createObjectURL(new Blob([blob], { type: 'text/html' }));
              if (tab) tab.location.href = url;
              else window.location.href = url;
              setTimeout(() => URL.revokeObjectURL(url), 60_000);
            } catch (e) {
              tab?.close();
              throw e;
            }
          });
        }}
      >
        {open.busy ? 'Preparing the report…' : label}
      </button>
      <ErrorAlert error={open.problem} />
    </span>
  );
}

export const itemReport = (id: string) => () => api.custodyReport(id);
export const caseReport = (id: string) => () => api.caseCustodyReport(id);
