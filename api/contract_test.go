package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// contract is the OpenAPI document, loaded and checked once for every test.
var contract = sync.OnceValues(func() (routers.Router, error) {
	ctx := context.Background()
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/jsonl", jsonLinesDecoder)
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

// checkContract fails the test when a response differs from what the
// OpenAPI document says of its route: an undocumented status, a body that
// does not match its schema, a missing required header. Every response of
// the API tests goes through it, so the document cannot drift from what the
// server sends. Paths the document does not name (the SPA, unknown paths
// under /api) are not part of the contract.
func checkContract(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	router, err := contract()
	if err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	probe := req.Clone(context.Background())
	probe.Body = http.NoBody
	route, params, err := router.FindRoute(probe)
	if err != nil {
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  resp.StatusCode,
		Header:  resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if req.Method != http.MethodHead {
		in.SetBodyBytes(body)
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s answered %d, which the OpenAPI document does not allow: %v\nbody: %s",
			req.Method, req.URL.Path, resp.StatusCode, err, truncateBody(body))
	}
}

// jsonLinesDecoder takes a JSON Lines body, documented as a string, after
// checking that every line is a JSON value of its own.
func jsonLinesDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	text, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(string(text)) {
		if !json.Valid([]byte(line)) {
			return nil, fmt.Errorf("a line is not JSON: %.80s", line)
		}
	}
	return string(text), nil
}

func truncateBody(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// readAndCheck reads a response's body and checks it against the contract.
func readAndCheck(t testing.TB, req *http.Request, resp *http.Response) string {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	checkContract(t, req, resp, body)
	return strings.Clone(string(body))
}
