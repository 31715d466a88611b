package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bevis-ir/bevis/cases"
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
	t.Parallel()
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
	t.Parallel()
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

// The SPA takes severity's values and their names from the document, so
// the document must say what the domain means by each: 1 is low, 4 critical.
func TestOpenAPI_SeverityNamesTheDomainsValues(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas struct {
				Severity struct {
					Enum  []int    `json:"enum"`
					Names []string `json:"x-enum-varnames"`
				} `json:"Severity"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	severity := doc.Components.Schemas.Severity
	if len(severity.Enum) == 0 || len(severity.Enum) != len(severity.Names) {
		t.Fatalf("Severity: enum %v, x-enum-varnames %v: want one name per value", severity.Enum, severity.Names)
	}
	for i, v := range severity.Enum {
		if s := cases.Severity(v); !s.Valid() || s.String() != severity.Names[i] {
			t.Errorf("the document names severity %d %q; the domain calls it %q (valid: %v)", v, severity.Names[i], s, s.Valid())
		}
	}
	for v := range 10 {
		if cases.Severity(v).Valid() && !slices.Contains(severity.Enum, v) {
			t.Errorf("severity %d (%s) is valid in the domain but missing from the document", v, cases.Severity(v))
		}
	}
}
