package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

type openAPIOperation struct {
	OperationID string                     `json:"operationId"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// catchAlls are registered outside the route table on purpose: they answer
// what no route does, and are not API operations.
var catchAlls = map[string]bool{"/api/*": true, "/*": true}

func TestOpenAPI_DocumentsExactlyTheRegisteredRoutes(t *testing.T) {
	app := newTestApp(t, nil)
	registered := map[string]bool{}
	hasGet := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		hasGet[r.Path] = hasGet[r.Path] || r.Method == http.MethodGet
	}
	for _, r := range app.GetRoutes(true) {
		// Fiber answers HEAD wherever there is a GET; a HEAD route of its
		// own (tus) is one of ours.
		if (r.Method == http.MethodHead && hasGet[r.Path]) || catchAlls[r.Path] {
			continue
		}
		registered[strings.ToLower(r.Method)+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}

	resp, body := do(t, app, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var doc openAPIDoc
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	operationIDs := map[string]bool{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			documented[method+" "+path] = true
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			if op.OperationID == "" || operationIDs[op.OperationID] || len(op.Responses) == 0 {
				t.Errorf("%s %s: needs a unique operationId and responses", method, path)
			}
			operationIDs[op.OperationID] = true
		}
	}

	for _, r := range sortedKeys(registered) {
		if !documented[r] {
			t.Errorf("route %s is registered but missing from the OpenAPI document", r)
		}
	}
	for _, r := range sortedKeys(documented) {
		if !registered[r] {
			t.Errorf("the OpenAPI document names %s, which is not registered", r)
		}
	}
	if len(registered) == 0 {
		t.Fatal("no routes found; the test is broken")
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPI_LicenceIsTheRepositorysLicence(t *testing.T) {
	var doc struct {
		Info struct {
			License struct {
				Identifier string `json:"identifier"`
			} `json:"license"`
		} `json:"info"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	licence, err := os.ReadFile("../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Info.License.Identifier != "Apache-2.0" || !strings.Contains(string(licence), "Apache License\n                           Version 2.0, January 2004") {
		t.Errorf("the document's licence %q does not match LICENSE", doc.Info.License.Identifier)
	}
}
