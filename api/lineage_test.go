package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// register posts an item to the fixture case as who and returns it.
func (w *world) register(t *testing.T, who, body string) itemJSON {
	t.Helper()
	resp, out := w.call(t, http.MethodPost, "/api/v1/cases/"+w.caseID+"/evidence", w.bearer[who], body)
	var it itemJSON
	if err := json.Unmarshal([]byte(out), &it); err != nil || resp.StatusCode != 201 {
		t.Fatalf("register %s: %d %s", body, resp.StatusCode, out)
	}
	return it
}

// Items extracted from another are numbered after it, the derivation is on
// both records, and the lineage lists ancestors and descendants.
func TestLineage_ChildrenShowTheirParentAndTheDerivationIsOnBothRecords(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		disk := w.register(t, "lead", `{"title":"Mail server disk","kind":"physical_item"}`)
		image := w.register(t, "lead", `{"title":"Mail server image","kind":"disk_image","parent_id":"`+disk.ID+
			`","extracted":"full disk image","acquisition":{"tool":"FTK Imager","tool_version":"4.7.1"}}`)
		second := w.register(t, "lead", `{"title":"Boot sector","kind":"other","parent_id":"`+disk.ID+`"}`)
		mailbox := w.register(t, "lead", `{"title":"CEO mailbox","kind":"document","parent_id":"`+image.ID+
			`","extracted":"PST of the CEO","acquisition":{"tool":"libpff","tool_version":"20231205"}}`)
		next := w.register(t, "lead", `{"title":"Firewall","kind":"physical_item"}`)
		for it, want := range map[*itemJSON]string{&image: disk.ExhibitNumber + ".1", &second: disk.ExhibitNumber + ".2",
			&mailbox: disk.ExhibitNumber + ".1.1"} {
			if it.ExhibitNumber != want {
				t.Errorf("%s numbered %s, want %s", it.Title, it.ExhibitNumber, want)
			}
		}
		// The case's own numbers go on without a gap for the children.
		if d, n := disk.ExhibitNumber, next.ExhibitNumber; n[len(n)-3:] <= d[len(d)-3:] || n[:len(n)-3] != d[:len(d)-3] ||
			n[len(n)-1]-d[len(d)-1] != 1 && n[len(n)-2:] != "10" {
			t.Errorf("the next item after %s is %s", d, n)
		}

		_, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+disk.ID+"/custody", w.bearer["lead"], "")
		var c custodyJSON
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatal(err)
		}
		derived := c.Events[len(c.Events)-2]
		if derived.Type != "derived" || derived.Details.Derivation == nil || derived.Details.Derivation.ChildExhibit != image.ExhibitNumber ||
			derived.Details.Derivation.What != "full disk image" || derived.Details.Derivation.Tool != "FTK Imager" ||
			derived.Details.Derivation.ToolVersion != "4.7.1" {
			t.Errorf("the parent's record of the derivation: %s", body)
		}
		_, body = w.call(t, http.MethodGet, "/api/v1/evidence/"+image.ID+"/custody", w.bearer["lead"], "")
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatal(err)
		}
		reg := c.Events[0].Details
		if reg.Derivation == nil || reg.Derivation.ParentExhibit != disk.ExhibitNumber || reg.Identity == nil ||
			reg.Identity.ParentExhibit != disk.ExhibitNumber || reg.Identity.ExhibitNumber != image.ExhibitNumber {
			t.Errorf("the child's registration: %s", body)
		}

		resp, body := w.call(t, http.MethodGet, "/api/v1/evidence/"+image.ID+"/lineage", w.bearer["analyst"], "")
		var l lineageJSON
		if err := json.Unmarshal([]byte(body), &l); err != nil || resp.StatusCode != 200 {
			t.Fatalf("lineage: %d %s", resp.StatusCode, body)
		}
		if len(l.Ancestors) != 1 || l.Ancestors[0].ID != disk.ID || l.Ancestors[0].Generation != -1 ||
			len(l.Descendants) != 1 || l.Descendants[0].ID != mailbox.ID || l.Descendants[0].Generation != 1 ||
			l.Descendants[0].Derivation == nil || l.Descendants[0].Derivation.What != "PST of the CEO" ||
			l.Item.ParentID != disk.ID || l.Item.Derivation == nil {
			t.Errorf("lineage of the image: %s", body)
		}
		_, body = w.call(t, http.MethodGet, "/api/v1/evidence/"+disk.ID+"/lineage", w.bearer["analyst"], "")
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Ancestors) != 0 || len(l.Descendants) != 3 || l.Descendants[2].ID != mailbox.ID || l.Descendants[2].Generation != 2 {
			t.Errorf("lineage of the disk: %s", body)
		}
	})
}

// A parent the caller may not see (a RED item) is not named anywhere the
// child is shown: not in the item, the list, the lineage, the report or
// the manifest, while one who may see it finds it in each.
func TestLineage_AParentBeyondClearanceIsNeverNamed(t *testing.T) {
	t.Parallel()
	forEachDatabase(t, func(t *testing.T, w *world) {
		parentID, _ := hiddenItem(t, w)
		child := w.register(t, "lead", `{"title":"Chat export","kind":"document","tlp":"AMBER","parent_id":"`+parentID+`"}`)
		if child.ParentID != parentID {
			t.Fatalf("the lead, who sees the parent, is not told of it: %+v", child)
		}
		paths := []string{"/api/v1/evidence/" + child.ID, "/api/v1/cases/" + w.caseID + "/evidence?limit=100",
			"/api/v1/evidence/" + child.ID + "/lineage", "/api/v1/evidence/" + child.ID + "/report",
			"/api/v1/evidence/" + child.ID + "/report?format=html", "/api/v1/cases/" + w.caseID + "/evidence/manifest",
			"/api/v1/evidence/" + child.ID + "/custody"}
		for _, p := range paths {
			resp, body := w.call(t, http.MethodGet, p, w.bearer["spare"], "")
			if resp.StatusCode != 200 || strings.Contains(body, parentID) || !strings.Contains(body, child.ExhibitNumber) {
				t.Errorf("spare, who works on the case through agency A, reads %s: %d, names the RED parent: %v", p, resp.StatusCode, strings.Contains(body, parentID))
			}
			if resp, body := w.call(t, http.MethodGet, p, w.bearer["lead"], ""); resp.StatusCode != 200 ||
				!strings.Contains(body, parentID) && !strings.Contains(p, "custody") {
				t.Errorf("the lead reads %s: %d, without the parent", p, resp.StatusCode)
			}
		}
	})
}
