package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// demoItem is evidence the story registers, with made-up content when it
// is digital.
type demoItem struct {
	title, kind, location, filename string
	size                            int
	line                            func(i int) string
}

// evidence: the forensic examiner registers and uploads what was seized,
// seals the laptop, and hands the file server's image over to the police
// security service, who accept it; the lead puts the image under legal hold.
func (s *demoStory) evidence(root *demoClient) error {
	examiner, err := s.as(root, "ncis_forensics")
	if err != nil {
		return err
	}
	day := 24 * time.Hour
	items := []demoItem{
		{title: "Memory image of jump host medit-jump01", kind: "memory_dump", filename: "medit-jump01.mem", size: 2 << 20,
			line: func(i int) string {
				return fmt.Sprintf("%08x  4d 5a 90 00 03 00 00 00  04 00 00 00 ff ff 00 00  page %d", i*16, i)
			}},
		{title: "Disk image of file server rha-fs01", kind: "disk_image", filename: "rha-fs01.dd", size: 3 << 20,
			line: func(i int) string { return fmt.Sprintf("sector %09d: NTFS    journal entry %d", i, i*7) }},
		{title: "Firewall logs, border of the authority", kind: "logs", filename: "fw-border.log", size: 512 << 10,
			line: func(i int) string {
				return fmt.Sprintf("2026-11-%02dT%02d:%02d:00Z fw01 ALLOW tcp 10.20.4.%d:%d -> 203.0.113.77:443", 1+i%28, i%24, i%60, 2+i%200, 40000+i%20000)
			}},
		{title: "Packet capture of the rclone uploads", kind: "network_capture", filename: "exfil.pcap", size: 768 << 10,
			line: func(i int) string {
				return fmt.Sprintf("frame %d: 10.20.4.17 -> 198.51.100.%d TLSv1.3 Application Data len=16384", i, 2+i%250)
			}},
		{title: "Laptop of the suspected insider", kind: "physical_item", location: "NCIS evidence room 2, shelf B"},
	}
	ids := make([]string, len(items))
	for i, it := range items {
		in := map[string]any{"title": it.title, "kind": it.kind,
			"acquisition": map[string]any{"tool": "FTK Imager", "tool_version": "4.7.1", "by": "Nora Strand",
				"at": rfc3339(s.aware.Add(time.Duration(i+1) * 6 * time.Hour)), "where": "Northwest Regional Health Authority, data centre A"}}
		if it.location != "" {
			in["location"] = it.location
			in["source"] = map[string]string{"device": "Lenovo ThinkPad T14", "serial": "PF-3KX92B", "owner": "MedIT Services AS"}
		}
		var made struct {
			ID string `json:"id"`
		}
		if err := examiner.post("/api/v1/cases/"+s.caseID()+"/evidence", in, http.StatusCreated, &made); err != nil {
			return err
		}
		ids[i] = made.ID
		if it.size > 0 {
			body := demoContent(it.size, it.line)
			err := examiner.send(http.MethodPut, "/api/v1/evidence/"+made.ID+"/content?filename="+it.filename,
				bytes.NewReader(body), http.StatusCreated, nil, "Content-Type", "application/octet-stream",
				"Content-Length", strconv.Itoa(len(body)))
			if err != nil {
				return err
			}
		}
	}
	s.evidenceItems = len(items)
	laptop, image := "/api/v1/evidence/"+ids[4]+"/custody", "/api/v1/evidence/"+ids[1]+"/custody"
	steps := []struct {
		who, path string
		step      map[string]any
	}{
		{"ncis_forensics", laptop, map[string]any{"type": "seal_applied", "details": map[string]string{"seal_number": "NCIS-S-118204"},
			"notes": "Bagged and sealed on seizure, in the owner's presence.", "occurred_at": rfc3339(s.aware.Add(day))}},
		{"ncis_forensics", image, map[string]any{"type": "transfer_offered", "counterparty_agency_id": s.agencyIDs["PSS"],
			"purpose": "Analysis for the intelligence investigation", "notes": "Handed over on an encrypted drive, key sent separately."}},
		{"pss", image, map[string]any{"type": "transfer_accepted", "identity_check": "Service ID card checked",
			"location": "PSS forensic lab, safe 3"}},
		{"coordinator", image, map[string]any{"type": "legal_hold_set", "details": map[string]string{
			"reason": "Criminal proceedings expected", "legal_basis": "Criminal Procedure Act s. 203",
			"authority_reference": "Prosecutor ref. 2026/4471"}}},
	}
	for _, st := range steps {
		c, err := s.as(root, st.who)
		if err != nil {
			return err
		}
		if err := c.post(st.path, st.step, http.StatusCreated, nil); err != nil {
			return err
		}
	}
	return nil
}

// exfiltration: an analyst pulls the memory image past the demo's hard
// download limit; the download is refused and an alert raised for the
// case's lead to look at.
func (s *demoStory) exfiltration(root *demoClient) error {
	analyst, err := s.as(root, "nccc_analyst")
	if err != nil {
		return err
	}
	var page struct {
		Items []struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"items"`
	}
	if err := analyst.get("/api/v1/cases/"+s.caseID()+"/evidence", &page); err != nil {
		return err
	}
	for _, it := range page.Items {
		if it.Title != "Memory image of jump host medit-jump01" {
			continue
		}
		err := analyst.do(http.MethodGet, "/api/v1/evidence/"+it.ID+"/content", nil, http.StatusTooManyRequests, nil)
		var unexpected *demoError
		if errors.As(err, &unexpected) {
			return fmt.Errorf("demo: the download past the limit was not refused: %w", err)
		}
		return err
	}
	return errors.New("demo: the memory image is not on the case's evidence list")
}
