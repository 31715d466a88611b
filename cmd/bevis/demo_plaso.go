package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// demoSuperTimeline writes a plaso json_line super-timeline of n events
// between from and to, as psort would export it from the victim's hosts:
// the daily noise of a hospital network with the intrusion's traces in it.
func demoSuperTimeline(n int, from, to time.Time) []byte {
	r := rand.New(rand.NewPCG(2026, 11)) //nolint:gosec // a made-up timeline, the same every time: no secret comes from it
	hosts := []string{"hr-ws12", "hr-ws31", "ward7-ws02", "rha-fs01", "rha-dc01", "ehr-db02", "medit-jump01", "rha-vpn01"}
	users := []string{"ahansen", "bkarlsen", "cnilsen", "dolsen", "svc_backup", "medit_tlunde", "ehr_app"}
	programs := []string{"cmd.exe", "powershell.exe", "rundll32.exe", "7z.exe", "rclone.exe", "mstsc.exe", "svchost.exe"}
	shares := []string{"patients", "journals", "defence-liaison", "hr", "finance"}
	pick := func(from []string) string { return from[r.IntN(len(from))] }
	kinds := []struct {
		dataType, parser, desc string
		message                func(user string) string
	}{
		{"windows:evtx:record", "winevtx", "Creation Time", func(u string) string {
			return fmt.Sprintf("[4624 / 0x1210] Logon: user %s logon type 3 from 10.20.%d.%d", u, r.IntN(8), 2+r.IntN(250))
		}},
		{"windows:evtx:record", "winevtx", "Creation Time", func(u string) string {
			return fmt.Sprintf("[4688 / 0x1250] Process created by %s: C:\\Windows\\System32\\%s", u, pick(programs))
		}},
		{"windows:evtx:record", "winevtx", "Creation Time", func(u string) string {
			return fmt.Sprintf("[5145 / 0x1420] Network share accessed by %s: \\\\rha-fs01\\%s", u, pick(shares))
		}},
		{"fs:stat", "filestat", "Content Modification Time", func(string) string {
			return fmt.Sprintf("OS:/srv/share/%s/record-%06d.pdf", pick(shares), r.IntN(1_000_000))
		}},
		{"windows:prefetch:execution", "prefetch", "Last Time Executed", func(u string) string {
			return fmt.Sprintf("Prefetch [%s] was executed by %s - run count %d", pick(programs), u, 1+r.IntN(9))
		}},
		{"linux:syslog:line", "syslog", "Content Modification Time", func(u string) string {
			return fmt.Sprintf("sshd[4242]: Accepted publickey for %s from 198.51.100.%d", u, 2+r.IntN(250))
		}},
	}
	span := to.Sub(from)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range n {
		at := from.Add(time.Duration(float64(span) * float64(i) / float64(n))).Add(time.Duration(r.IntN(60_000)) * time.Millisecond)
		k := kinds[r.IntN(len(kinds))]
		host, user := pick(hosts), pick(users)
		msg := k.message(user)
		_ = enc.Encode(map[string]any{
			"__container_type__": "event",
			"timestamp":          at.UnixMicro(),
			"timestamp_desc":     k.desc,
			"data_type":          k.dataType,
			"parser":             k.parser,
			"hostname":           host,
			"username":           user,
			"message":            msg,
		})
	}
	return b.Bytes()
}

// demoContent is n bytes of made-up evidence content: lines of text that
// look like what the item holds, so a download shows something sensible.
func demoContent(n int, line func(i int) string) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString(line(i))
		b.WriteByte('\n')
	}
	return b.Bytes()[:n]
}
