package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// The demo's agencies: everyone investigating a breach at a regional health
// authority. All names are made up.
var demoAgencies = []struct{ code, name, kind string }{
	{"NCCC", "National Cyber Coordination Centre", "cert"},
	{"PSS", "Police Security Service", "police"},
	{"NSAU", "National Security Authority", "security_authority"},
	{"NCIS", "National Criminal Investigation Service", "police"},
	{"HCERT", "Health Sector CERT", "cert"},
	{"RHANW", "Northwest Regional Health Authority", "victim"},
	{"MEDIT", "MedIT Services AS", "it_provider"},
}

func demoAgencyName(code string) string {
	for _, a := range demoAgencies {
		if a.code == code {
			return a.name
		}
	}
	return code
}

func demoAgencyKind(code string) string {
	for _, a := range demoAgencies {
		if a.code == code {
			return a.kind
		}
	}
	return "other"
}

// demoPerson is one person of the demo; role is their system role, part
// what they do in the story.
type demoPerson struct {
	key, name, email, agency, role, title, part string
	password                                    string // theirs, printed at the end
	oneTime                                     string // the admin's, until their first sign-in replaces it
	id                                          string // once created
}

// demoCast is the demo's people, by key.
type demoCast struct {
	people []*demoPerson
	byKey  map[string]*demoPerson
}

func newDemoCast() *demoCast {
	people := []*demoPerson{
		{key: "admin", name: "Kari Nordmann", agency: "NCCC", role: "admin", title: "System administrator", part: "runs Bevis: agencies, people, templates; sees no case content"},
		{key: "auditor", name: "Ingrid Solberg", agency: "NCCC", role: "auditor", title: "Internal auditor", part: "reads the audit log"},
		{key: "coordinator", name: "Marte Haugen", agency: "NCCC", role: "member", title: "Incident coordinator", part: "lead of the breach case"},
		{key: "director", name: "Astrid Nilsen", agency: "NCCC", role: "member", title: "Director", part: "leadership: observer of the breach case"},
		{key: "nccc_analyst", name: "Jonas Lie", agency: "NCCC", role: "member", title: "Threat analyst", part: "analyst; raised the exfiltration alert"},
		{key: "pss", name: "Eirik Dahl", agency: "PSS", role: "member", title: "Investigator", part: "investigator; took over the disk image"},
		{key: "nsau", name: "Sigrid Moen", agency: "NSAU", role: "member", title: "Head of section", part: "observer from the security authority"},
		{key: "ncis_forensics", name: "Nora Strand", agency: "NCIS", role: "member", title: "Forensic examiner", part: "uploads and hands over evidence"},
		{key: "ncis", name: "Henrik Bakke", agency: "NCIS", role: "agency_admin", title: "Chief inspector", part: "agency admin of NCIS, investigator on the case"},
		{key: "hcert", name: "Lars Vik", agency: "HCERT", role: "member", title: "CERT analyst", part: "raised the alarm; imported the super-timeline"},
		{key: "rha", name: "Anne Holm", agency: "RHANW", role: "member", title: "CISO", part: "the victim's security chief"},
		{key: "medit", name: "Per Sandvik", agency: "MEDIT", role: "member", title: "Operations manager", part: "the IT provider's contact"},
		{key: "insider", name: "Tore Lunde", agency: "MEDIT", role: "member", title: "System administrator", part: "suspected insider: excluded from the breach case"},
	}
	c := &demoCast{people: people, byKey: map[string]*demoPerson{}}
	for _, p := range people {
		first := strings.ToLower(strings.Fields(p.name)[0])
		p.email = first + "@" + strings.ToLower(p.agency) + ".example"
		p.password = demoPassword()
		c.byKey[p.key] = p
	}
	return c
}

func (c *demoCast) admin() demoPerson { return *c.byKey["admin"] }

func (c *demoCast) person(key string) *demoPerson {
	p, ok := c.byKey[key]
	if !ok {
		panic("demo: no person " + key)
	}
	return p
}

// print lists who can sign in, with their passwords, once.
func (c *demoCast) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tPASSWORD\tAGENCY\tROLE\tIN THE STORY")
	for _, p := range c.people {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.email, p.password, p.agency, p.role, p.part)
	}
	_ = tw.Flush()
}
