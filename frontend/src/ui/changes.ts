// Screens that show something derived from a part of a case (a count, a
// summary) read it again when a write changes that part: put the version
// in the deps of their useLoad.

import { useEffect, useState } from 'preact/hooks';
import { type CasePart, caseVersion, onCaseChange } from '../api';

/** The version of a part of a case, which goes up on each write that changes it. */
export function useCaseVersion(caseId: string, part: CasePart): number {
  const [version, setVersion] = useState(() => caseVersion(caseId, part));
  useEffect(() => {
    setVersion(caseVersion(caseId, part));
    return onCaseChange((c, p) => {
      if (c === caseId && p === part) setVersion(caseVersion(caseId, part));
    });
  }, [caseId, part]);
  return version;
}
