package alerts

import (
	"context"
	"time"
)

// RuleIntegrity is an integrity incident: stored evidence found changed or
// missing (by a re-verification or a download), a version or a delete
// marker on an evidence or audit checkpoint key that Bevis did not write, or
// a legal hold lifted in the store behind Bevis's back. It goes to the
// leads of the item's case and to the admins; an incident of no case (an
// audit checkpoint) to the admins alone.
const RuleIntegrity Rule = "evidence_integrity"

// integrityWindow is how long one alert stands for further incidents of
// the same subject: a tampered item downloaded again and again raises one
// alert a day, not one per download.
const integrityWindow = 24 * time.Hour

// RaiseIntegrity stores an integrity alert about subject (an evidence item's
// ID, or a store key) of caseID ("" for an audit checkpoint: the alert is
// then the admins' alone), at most one per subject within a day, and sends
// it to the webhook. agencyID is the agency of the person who came upon it,
// when one did (the note names them); the alert is about the subject, not
// about a user, so it has no user. It never fails the caller: the incident
// is on the custody record already, and a failure to store the alert is
// logged. It is what evidence.IncidentReporter asks for.
func (e *Engine) RaiseIntegrity(ctx context.Context, caseID, subject, agencyID, note string) {
	if e == nil {
		return
	}
	at := time.Now()
	a := Alert{Rule: RuleIntegrity, AgencyID: agencyID, CaseIDs: []string{caseID},
		WindowStart: at.Add(-integrityWindow), WindowEnd: at, Items: 1, Note: note}
	stored, err := e.Store.raise(ctx, &a, subject, integrityWindow)
	if err != nil {
		e.log.Error("integrity alert not stored", "err", err, "subject", subject, "note", note)
		return
	}
	if !stored {
		return
	}
	e.log.Error("integrity alert", "alert_id", a.ID, "subject", subject, "cases", a.CaseIDs, "note", a.Note)
	e.hook.send(a)
}
