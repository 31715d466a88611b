package main

import (
	"net/http"
	"time"
)

// demoSmallCases are the rest of the coordination centre's work: a dozen
// smaller cases, in every phase, led by several agencies.
var demoSmallCases = []struct {
	lead, title, phase string
	severity           int
	tlp                string
	partner            string // an agency invited as analyst
	daysAgo            int
	personalData       bool
}{
	{"coordinator", "Phishing wave against hospital staff", "new", 2, "GREEN", "HCERT", 1, false},
	{"hcert", "Credential stuffing on the patient portal", "new", 3, "AMBER", "RHANW", 2, true},
	{"coordinator", "Suspicious DNS traffic from a municipal clinic", "triage", 2, "GREEN", "", 3, false},
	{"ncis", "Extortion mail to the authority's board", "triage", 3, "AMBER+STRICT", "PSS", 4, false},
	{"hcert", "Ransomware at a private radiology clinic", "investigating", 4, "AMBER", "NCIS", 6, true},
	{"coordinator", "Compromised supplier update server", "investigating", 3, "AMBER", "MEDIT", 8, false},
	{"pss", "Targeted intrusion at a defence contractor", "containment", 4, "RED", "", 12, false},
	{"coordinator", "DDoS against the emergency dispatch portal", "containment", 3, "CLEAR", "HCERT", 10, false},
	{"ncis", "Insider selling patient data on a forum", "eradication", 3, "AMBER", "RHANW", 20, true},
	{"hcert", "Web shell on the research department's wiki", "recovery", 2, "GREEN", "", 25, false},
	{"coordinator", "Lost laptop with unencrypted patient lists", "closed", 2, "AMBER", "RHANW", 40, true},
	{"ncis", "Business e-mail compromise at the pharmacy chain", "closed", 3, "AMBER", "", 60, false},
}

// demoPath is the way from new to each phase, as the lifecycle allows.
var demoPath = []string{"triage", "investigating", "containment", "eradication", "recovery", "closed"}

// portfolio: the smaller cases, each moved to its phase with a task or two.
func (s *demoStory) portfolio(root *demoClient) error {
	day := 24 * time.Hour
	for _, sc := range demoSmallCases {
		lead, err := s.as(root, sc.lead)
		if err != nil {
			return err
		}
		discovered := s.now.Add(-time.Duration(sc.daysAgo) * day)
		var k demoCase
		err = lead.post("/api/v1/cases", map[string]any{"title": sc.title, "severity": sc.severity, "tlp": sc.tlp,
			"personal_data_breach": sc.personalData, "discovered_at": rfc3339(discovered),
			"aware_at": rfc3339(discovered.Add(4 * time.Hour)), "jurisdictions": []string{"gdpr", "nis2"},
			"tags": []string{"demo"}}, http.StatusCreated, &k)
		if err != nil {
			return err
		}
		base := "/api/v1/cases/" + k.ID
		if sc.partner != "" {
			if err := lead.put(base+"/members/agencies/"+s.agencyIDs[sc.partner], map[string]string{"role": "analyst"},
				http.StatusOK, nil); err != nil {
				return err
			}
		}
		// The director follows every case that is not for named people only.
		if sc.tlp != "RED" && sc.tlp != "AMBER+STRICT" {
			if err := lead.put(base+"/members/users/"+s.cast.person("director").id, map[string]string{"role": "observer"},
				http.StatusOK, nil); err != nil {
				return err
			}
		}
		task := map[string]any{"title": "Collect the first logs and write a short assessment", "priority": "normal",
			"due_at": rfc3339(discovered.Add(3 * day))}
		if sc.partner != "" {
			task["assignee_agency_id"] = s.agencyIDs[sc.partner]
		} else {
			task["assignee_user_id"] = s.cast.person(sc.lead).id
		}
		if err := lead.post(base+"/tasks", task, http.StatusCreated, nil); err != nil {
			return err
		}
		for _, to := range demoPath {
			if sc.phase == "new" {
				break
			}
			if err := lead.caseWrite(k.ID, base+"/transitions", map[string]string{"to": to, "reason": "Demo."}, nil); err != nil {
				return err
			}
			if to == sc.phase {
				break
			}
		}
		s.smallCases++
	}
	return nil
}
