package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// demoStory is what the demo built, for its closing summary.
type demoStory struct {
	cast                   *demoCast
	breachID               string
	caseRef, caseTitle     string
	smallCases, tasks      int
	events, evidenceItems  int
	sitrep                 int // the number of the breach case's issued situation report
	agencyIDs              map[string]string
	now, discovered, aware time.Time
}

// demoCase is what the story needs of a case it made.
type demoCase struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	Clocks    []struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"clocks"`
}

// runDemoStory tells the story through the API as its people would, in
// the order things happen in a real investigation.
func runDemoStory(root *demoClient, cast *demoCast) (*demoStory, error) {
	now := time.Now().UTC().Truncate(time.Second)
	s := &demoStory{cast: cast, agencyIDs: map[string]string{}, now: now,
		discovered: now.Add(-9 * 24 * time.Hour), aware: now.Add(-8*24*time.Hour + 3*time.Hour)}
	steps := []func(*demoClient) error{s.people, s.breachCase, s.tasking, s.timeline, s.evidence, s.exfiltration, s.portfolio, s.situationReport, s.settle}
	for _, step := range steps {
		if err := step(root); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// as signs a person of the cast in; the first time, they replace the
// one-time password the admin gave them with their own, as people must.
func (s *demoStory) as(root *demoClient, key string) (*demoClient, error) {
	p := s.cast.person(key)
	if p.oneTime == "" {
		return root.signIn(p.email, p.password, "")
	}
	c, err := root.signIn(p.email, p.oneTime, p.password)
	if err == nil {
		p.oneTime = ""
	}
	return c, err
}

// settle signs in, once, everyone the story did not need, so that each
// replaces the admin's one-time password with the one printed for them:
// every person listed can then sign in with it.
func (s *demoStory) settle(root *demoClient) error {
	for _, p := range s.cast.people {
		if p.oneTime == "" {
			continue
		}
		if _, err := s.as(root, p.key); err != nil {
			return fmt.Errorf("demo: first sign-in of %s: %w", p.email, err)
		}
	}
	return nil
}

// people: the admin adds the agencies and everyone working on the breach.
func (s *demoStory) people(root *demoClient) error {
	admin, err := s.as(root, "admin")
	if err != nil {
		return err
	}
	var me struct {
		User struct {
			ID       string `json:"id"`
			AgencyID string `json:"agency_id"`
		} `json:"user"`
	}
	if err := admin.get("/api/v1/me", &me); err != nil {
		return err
	}
	s.cast.person("admin").id = me.User.ID
	s.agencyIDs[s.cast.person("admin").agency] = me.User.AgencyID
	for _, a := range demoAgencies {
		if s.agencyIDs[a.code] != "" {
			continue
		}
		var made struct {
			ID string `json:"id"`
		}
		if err := admin.post("/api/v1/agencies", map[string]any{"code": a.code, "name": a.name, "kind": a.kind},
			http.StatusCreated, &made); err != nil {
			return err
		}
		s.agencyIDs[a.code] = made.ID
	}
	for _, p := range s.cast.people {
		if p.id != "" {
			continue
		}
		var made struct {
			ID string `json:"id"`
		}
		p.oneTime = demoPassword()
		in := map[string]any{"agency_id": s.agencyIDs[p.agency], "email": p.email, "name": p.name, "title": p.title,
			"system_role": p.role, "password": p.oneTime}
		if err := admin.post("/api/v1/users", in, http.StatusCreated, &made); err != nil {
			return err
		}
		p.id = made.ID
	}
	return admin.post("/api/v1/templates", map[string]any{
		"name": "Ransomware in a hospital", "description": "Encrypting malware on clinical systems: isolate first, then preserve.",
		"severity": 4, "tlp": "AMBER", "tags": []string{"ransomware", "health"}, "jurisdictions": []string{"gdpr", "nis2"},
		"tasks": []map[string]any{
			{"title": "Isolate the affected wards' networks", "priority": "urgent", "due_in_hours": 2,
				"checklist": []string{"Pull uplinks", "Keep clinical devices on the isolated VLAN"}},
			{"title": "Preserve memory of encrypted hosts", "priority": "high", "due_in_hours": 8},
		}}, http.StatusCreated, nil)
}

// breachCase: the coordinator opens the case, brings in the agencies, cuts
// off the suspected insider and meets the first regulatory deadlines.
func (s *demoStory) breachCase(root *demoClient) error {
	lead, err := s.as(root, "coordinator")
	if err != nil {
		return err
	}
	var k demoCase
	err = lead.post("/api/v1/cases", map[string]any{
		"title":    "Intrusion at Northwest Regional Health Authority",
		"summary":  "An advanced, persistent actor reached the patient records and the authority's correspondence with the armed forces ahead of a NATO exercise. An insider at the IT provider is suspected of helping. What was taken, and how, is not yet known.",
		"severity": 4, "tlp": "AMBER", "tags": []string{"apt", "health", "insider", "TA0010"},
		"affected_organisations": []string{"Northwest Regional Health Authority", "MedIT Services AS"},
		"affected_systems":       []string{"EHR database ehr-db02", "File server rha-fs01", "Jump host medit-jump01", "Domain controller rha-dc01"},
		"personal_data_breach":   true, "discovered_at": rfc3339(s.discovered), "aware_at": rfc3339(s.aware),
		"jurisdictions": []string{"gdpr", "nis2"},
	}, http.StatusCreated, &k)
	if err != nil {
		return err
	}
	s.caseRef, s.caseTitle = k.Reference, "Intrusion at Northwest Regional Health Authority"
	base := "/api/v1/cases/" + k.ID
	for code, role := range map[string]string{"PSS": "investigator", "NSAU": "observer", "NCIS": "investigator",
		"HCERT": "analyst", "RHANW": "analyst", "MEDIT": "analyst"} {
		if err := lead.put(base+"/members/agencies/"+s.agencyIDs[code], map[string]string{"role": role}, http.StatusOK, nil); err != nil {
			return err
		}
	}
	for key, role := range map[string]string{"director": "observer", "nccc_analyst": "analyst"} {
		if err := lead.put(base+"/members/users/"+s.cast.person(key).id, map[string]string{"role": role}, http.StatusOK, nil); err != nil {
			return err
		}
	}
	if err := lead.put(base+"/members/exclusions/"+s.cast.person("insider").id,
		map[string]string{"reason": "Suspected of giving the actor access; cut off on the police's advice."}, http.StatusCreated, nil); err != nil {
		return err
	}
	for _, to := range []string{"triage", "investigating", "containment"} {
		if err := lead.caseWrite(k.ID, base+"/transitions", map[string]string{"to": to, "reason": "Demo: the investigation moves on."}, nil); err != nil {
			return err
		}
	}
	// GDPR's 72 hours and NIS2's early warning were met; the NIS2
	// notification is late and the final report still runs.
	if err := lead.get(base, &k); err != nil {
		return err
	}
	for _, c := range k.Clocks {
		var at time.Time
		switch {
		case strings.HasPrefix(c.ID, "gdpr"):
			at = s.aware.Add(60 * time.Hour)
		case strings.Contains(c.ID, "early_warning"):
			at = s.aware.Add(20 * time.Hour)
		default:
			continue
		}
		err := lead.caseWrite(k.ID, base+"/clocks/"+c.ID+"/met", map[string]string{
			"reference": "Ack " + strings.ToUpper(c.ID[:4]) + "-" + at.Format("0102"), "met_at": rfc3339(at)}, nil)
		if err != nil {
			return err
		}
	}
	s.breachID = k.ID
	return nil
}

// caseID is the breach case's ID.
func (s *demoStory) caseID() string { return s.breachID }

// tasking: tasks to people and agencies, some late, with comments.
func (s *demoStory) tasking(root *demoClient) error {
	lead, err := s.as(root, "coordinator")
	if err != nil {
		return err
	}
	base := "/api/v1/cases/" + s.caseID()
	day := 24 * time.Hour
	tasks := []map[string]any{
		{"title": "Image the file server rha-fs01", "assignee_agency_id": s.agencyIDs["NCIS"], "priority": "urgent",
			"due_at": rfc3339(s.aware.Add(day)), "checklist": []string{"Write-block", "Hash on site", "Seal the drives"}},
		{"title": "Memory capture of medit-jump01", "assignee_user_id": s.cast.person("ncis_forensics").id, "priority": "urgent",
			"due_at": rfc3339(s.aware.Add(12 * time.Hour))},
		{"title": "List every account MedIT staff hold at the authority", "assignee_agency_id": s.agencyIDs["MEDIT"],
			"priority": "high", "due_at": rfc3339(s.now.Add(-2 * day))},
		{"title": "Assess the defence correspondence that may be exposed", "assignee_agency_id": s.agencyIDs["NSAU"],
			"priority": "high", "due_at": rfc3339(s.now.Add(-day))},
		{"title": "Draft the notification to the data protection authority", "assignee_user_id": s.cast.person("rha").id,
			"priority": "normal", "due_at": rfc3339(s.now.Add(3 * day))},
		{"title": "Correlate VPN logs with the super-timeline", "assignee_user_id": s.cast.person("hcert").id,
			"priority": "normal", "due_at": rfc3339(s.now.Add(2 * day)), "checklist": []string{"Import rha-vpn01 logs", "Mark the actor's sessions"}},
		{"title": "Interview the suspected insider", "assignee_agency_id": s.agencyIDs["PSS"], "priority": "high",
			"due_at": rfc3339(s.now.Add(day))},
		{"title": "Brief the ministries", "assignee_user_id": s.cast.person("coordinator").id, "priority": "normal",
			"due_at": rfc3339(s.now.Add(-3 * time.Hour))},
		{"title": "Block the exfiltration destinations at the border", "assignee_agency_id": s.agencyIDs["HCERT"], "priority": "urgent"},
		{"title": "Rotate every privileged credential at the authority", "assignee_agency_id": s.agencyIDs["RHANW"], "priority": "high",
			"due_at": rfc3339(s.now.Add(5 * day))},
	}
	ids := make([]string, len(tasks))
	for i, t := range tasks {
		var made struct {
			ID string `json:"id"`
		}
		if err := lead.post(base+"/tasks", t, http.StatusCreated, &made); err != nil {
			return err
		}
		ids[i] = made.ID
	}
	s.tasks = len(tasks)
	// The examiner finished the memory capture; the border block waits on a
	// decision; the VPN correlation is under way.
	for i, status := range map[int]string{1: "done", 8: "blocked", 5: "in_progress", 0: "in_progress"} {
		if err := s.setTaskStatus(lead, base+"/tasks/"+ids[i], status); err != nil {
			return err
		}
	}
	comments := []struct {
		task, body string
		mention    string
	}{
		{ids[0], "Drives are out of the rack; hashing on site before transport. @nora please take the chain from here.", "ncis_forensics"},
		{ids[8], "Blocking needs the ministry's agreement: some destinations are shared with a partner's exercise network.", ""},
		{"", "Coordination meeting every day at 08:00 and 16:00 on the secure line until containment.", ""},
	}
	for _, c := range comments {
		path := base + "/comments"
		if c.task != "" {
			path = base + "/tasks/" + c.task + "/comments"
		}
		in := map[string]any{"body": c.body}
		if c.mention != "" {
			in["mentions"] = []string{s.cast.person(c.mention).id}
		}
		if err := lead.post(path, in, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *demoStory) setTaskStatus(c *demoClient, path, status string) error {
	var t struct {
		Version int64 `json:"version"`
	}
	if err := c.get(path, &t); err != nil {
		return err
	}
	return c.do(http.MethodPatch, path, map[string]string{"status": status}, http.StatusOK, nil,
		"If-Match", fmt.Sprintf(`"%d"`, t.Version))
}

// timeline: the sector CERT imports the super-timeline of the victim's
// hosts, and the coordinator marks the key moments with ATT&CK techniques.
func (s *demoStory) timeline(root *demoClient) error {
	cert, err := s.as(root, "hcert")
	if err != nil {
		return err
	}
	base := "/api/v1/cases/" + s.caseID() + "/timeline"
	const imported = 3000
	file := demoSuperTimeline(imported, s.discovered.Add(-30*24*time.Hour), s.discovered.Add(2*24*time.Hour))
	if err := cert.send(http.MethodPost, base+"/imports?format=json_line", bytes.NewReader(file), http.StatusCreated, nil,
		"Content-Type", "application/x-ndjson"); err != nil {
		return err
	}
	lead, err := s.as(root, "coordinator")
	if err != nil {
		return err
	}
	day := 24 * time.Hour
	start := s.discovered.Add(-30 * day)
	key := []struct {
		at               time.Duration
		host, text, tech string
		tactic           string
	}{
		{0, "hr-ws12", "Spear-phishing mail with a macro document opened by an HR officer", "T1566.001", "TA0001"},
		{2 * time.Hour, "hr-ws12", "Macro drops a loader that calls out to 203.0.113.77 over HTTPS", "T1071.001", "TA0011"},
		{3 * day, "medit-jump01", "Logon to the jump host with a MedIT administrator's valid account outside working hours", "T1078.002", "TA0005"},
		{3*day + time.Hour, "rha-dc01", "LSASS memory dumped on the domain controller", "T1003.001", "TA0006"},
		{5 * day, "rha-fs01", "RDP from the jump host to the file server", "T1021.001", "TA0008"},
		{12 * day, "rha-fs01", "Patient journal exports and the defence-liaison share archived with 7-Zip", "T1560.001", "TA0009"},
		{13 * day, "rha-fs01", "Archives uploaded to a cloud storage service with rclone", "T1567.002", "TA0010"},
		{14 * day, "rha-fs01", "Archives and prefetch files deleted", "T1070.004", "TA0005"},
		{30 * day, "rha-vpn01", "The health CERT's sensor flags rclone traffic; the alarm is raised", "", ""},
	}
	for _, e := range key {
		in := map[string]any{"occurred_at": rfc3339(start.Add(e.at)), "description": e.text, "actor": "Unknown actor",
			"source": map[string]string{"host": e.host}, "confidence": "high", "source_timezone": "Europe/Oslo"}
		if e.tech != "" {
			in["techniques"], in["tactics"] = []string{e.tech}, []string{e.tactic}
		}
		if err := lead.post(base, in, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	s.events = imported + len(key)
	return nil
}

// situationReport: the coordinator issues the breach case's situation
// report for the crisis staff, a numbered record the next one compares with.
func (s *demoStory) situationReport(root *demoClient) error {
	lead, err := s.as(root, "coordinator")
	if err != nil {
		return err
	}
	var issued struct {
		Number int `json:"number"`
	}
	if err := lead.post("/api/v1/cases/"+s.caseID()+"/sitreps", nil, http.StatusCreated, &issued); err != nil {
		return err
	}
	s.sitrep = issued.Number
	return nil
}

// print ends the demo: what was built, and who can sign in, once.
func (s *demoStory) print(w io.Writer, dir string) {
	fmt.Fprintf(w, "\nThe demo is ready in %s: case %s, %q, with %d tasks, %d timeline events and %d evidence items, situation report no. %d issued, and %d smaller cases in every phase.\n",
		dir, s.caseRef, s.caseTitle, s.tasks, s.events, s.evidenceItems, s.sitrep, s.smallCases)
	fmt.Fprintf(w, "Serve it with:\n\n    bevis serve --data-dir %s\n\nand sign in as any of these people (the passwords are shown only now):\n\n", dir)
	s.cast.print(w)
}
