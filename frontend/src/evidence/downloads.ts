// Downloads of evidence: the content through a single-use ticket, so the
// browser streams it to disk however large it is; the custody report and
// the case's manifest (small JSON) through the session.

import { api, fetchFile } from '../api';

/** Follows a link as a download, in the background of the page. */
function follow(href: string, filename?: string) {
  const a = document.createElement('a');
  a.href = href;
  a.download = filename ?? '';
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Saves a Blob as a file through a temporary link. */
export function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  follow(url, filename);
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Downloads an item's content straight to disk: a one-minute, single-use
 * ticket from the server goes in the link, which the browser then saves as
 * it arrives (never held in memory, so a 50 GB image works). The server
 * authorizes and records the download as any other.
 */
export async function downloadContent(itemId: string): Promise<void> {
  const ticket = await api.downloadTicket(itemId);
  follow(ticket.url);
}

export async function downloadCustodyReport(itemId: string, exhibit: string): Promise<void> {
  const { blob, filename } = await fetchFile(`/api/v1/evidence/${encodeURIComponent(itemId)}/report?format=html`);
  saveBlob(blob, filename ?? `${exhibit || itemId}-custody-report.html`);
}

export async function downloadManifest(caseId: string): Promise<void> {
  const { blob, filename } = await fetchFile(`/api/v1/cases/${encodeURIComponent(caseId)}/evidence/manifest`);
  saveBlob(blob, filename ?? `evidence-manifest-${caseId}.json`);
}
