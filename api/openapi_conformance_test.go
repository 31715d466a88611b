package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The OpenAPI document is the contract the SPA's types are generated from,
// so every answer the API tests receive is checked against it: a field the
// document calls required must be there, every field it names must have the
// type and values it says, and an error must be a problem document. A field
// the document does not name is let through (it is merely undocumented).

// jsonSchema is the subset of JSON Schema the document uses.
type jsonSchema struct {
	Ref                  string                 `json:"$ref"`
	Type                 json.RawMessage        `json:"type"`
	Enum                 []any                  `json:"enum"`
	Const                any                    `json:"const"`
	Required             []string               `json:"required"`
	Properties           map[string]*jsonSchema `json:"properties"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Items                *jsonSchema            `json:"items"`
	OneOf                []*jsonSchema          `json:"oneOf"`
	AnyOf                []*jsonSchema          `json:"anyOf"`
	AllOf                []*jsonSchema          `json:"allOf"`
	Minimum              *float64               `json:"minimum"`
	Maximum              *float64               `json:"maximum"`
}

type openAPIContract struct {
	Paths map[string]map[string]struct {
		Responses map[string]struct {
			Content map[string]struct {
				Schema *jsonSchema `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]*jsonSchema `json:"schemas"`
	} `json:"components"`
}

var contract = sync.OnceValues(func() (*openAPIContract, error) {
	var doc openAPIContract
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		return nil, err
	}
	return &doc, nil
})

// documentedPath finds the path template of the document that path matches,
// preferring literal segments to parameters (/timeline/imports over
// /timeline/{eventId}).
func documentedPath(doc *openAPIContract, path string) (string, bool) {
	got := strings.Split(strings.Trim(path, "/"), "/")
	best, bestScore := "", -1
	for tmpl := range doc.Paths {
		want := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(want) != len(got) {
			continue
		}
		score := 0
		for i, w := range want {
			if strings.HasPrefix(w, "{") {
				continue
			}
			if w != got[i] {
				score = -1
				break
			}
			score++
		}
		if score > bestScore {
			best, bestScore = tmpl, score
		}
	}
	return best, bestScore >= 0
}

// checkConformance reports where an answer differs from what the document
// says of it.
func checkConformance(t testing.TB, method, target string, resp *http.Response, body string) {
	t.Helper()
	doc, err := contract()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if method == http.MethodHead || body == "" {
		return
	}
	if mediaType != "application/json" && mediaType != "application/problem+json" {
		return
	}
	path, _, _ := strings.Cut(target, "?")
	tmpl, ok := documentedPath(doc, path)
	if !ok {
		return // the catch-all answers unknown paths; the route test covers the route table
	}
	status := strconv.Itoa(resp.StatusCode)
	var schema *jsonSchema
	if r, ok := doc.Paths[tmpl][strings.ToLower(method)].Responses[status]; ok {
		schema = r.Content[mediaType].Schema
	}
	if schema == nil && resp.StatusCode >= 400 {
		schema = &jsonSchema{Ref: "#/components/schemas/Problem"}
	}
	if schema == nil {
		t.Errorf("openapi: %s %s answered %d %s, which the document does not describe", method, tmpl, resp.StatusCode, mediaType)
		return
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Errorf("openapi: %s %s: the body is not JSON: %v", method, tmpl, err)
		return
	}
	for _, problem := range doc.check(schema, v, "body") {
		t.Errorf("openapi: %s %s → %d: %s", method, tmpl, resp.StatusCode, problem)
	}
}

func (doc *openAPIContract) resolve(s *jsonSchema) *jsonSchema {
	for s != nil && s.Ref != "" {
		s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	default:
		return "object"
	}
}

// check returns where v fails s, each named by its place in the body.
func (doc *openAPIContract) check(s *jsonSchema, v any, at string) []string {
	s = doc.resolve(s)
	if s == nil {
		return []string{at + ": the schema it refers to is missing"}
	}
	var out []string
	for _, sub := range s.AllOf {
		out = append(out, doc.check(sub, v, at)...)
	}
	for _, alternatives := range [][]*jsonSchema{s.OneOf, s.AnyOf} {
		if len(alternatives) == 0 {
			continue
		}
		var first []string
		matched := false
		for i, sub := range alternatives {
			fails := doc.check(sub, v, at)
			if len(fails) == 0 {
				matched = true
				break
			}
			if i == 0 {
				first = fails
			}
		}
		if !matched {
			out = append(out, fmt.Sprintf("%s matches none of its alternatives (the first: %s)", at, strings.Join(first, "; ")))
		}
	}
	if len(s.Type) > 0 {
		var types []string
		if err := json.Unmarshal(s.Type, &types); err != nil {
			var one string
			_ = json.Unmarshal(s.Type, &one)
			types = []string{one}
		}
		got := jsonType(v)
		if !slices.Contains(types, got) && (got != "integer" || !slices.Contains(types, "number")) {
			return append(out, fmt.Sprintf("%s is %s %s, the document says %s", at, got, clip(v), strings.Join(types, " or ")))
		}
	}
	if s.Enum != nil && !slices.ContainsFunc(s.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) && jsonType(e) == jsonType(v) }) {
		out = append(out, fmt.Sprintf("%s is %s, not one of the document's %v", at, clip(v), s.Enum))
	}
	if s.Const != nil && fmt.Sprint(s.Const) != fmt.Sprint(v) {
		out = append(out, fmt.Sprintf("%s is %s, the document says %v", at, clip(v), s.Const))
	}
	if n, ok := v.(float64); ok {
		if (s.Minimum != nil && n < *s.Minimum) || (s.Maximum != nil && n > *s.Maximum) {
			out = append(out, fmt.Sprintf("%s is %v, outside the document's range", at, n))
		}
	}
	switch x := v.(type) {
	case []any:
		if s.Items != nil {
			for i, item := range x {
				out = append(out, doc.check(s.Items, item, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case map[string]any:
		for _, name := range s.Required {
			if _, ok := x[name]; !ok {
				out = append(out, fmt.Sprintf("%s has no %q, which the document says is always there", at, name))
			}
		}
		var extra jsonSchema
		hasExtra := len(s.AdditionalProperties) > 0 && json.Unmarshal(s.AdditionalProperties, &extra) == nil
		for _, name := range slices.Sorted(maps.Keys(x)) {
			if p, ok := s.Properties[name]; ok {
				out = append(out, doc.check(p, x[name], at+"."+name)...)
			} else if hasExtra {
				out = append(out, doc.check(&extra, x[name], at+"."+name)...)
			}
		}
	}
	return out
}

func clip(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}
