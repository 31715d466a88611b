package access

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// knownActions decides which actions a token may be scoped to, so an
// action constant missing from it could never be granted to a token.
func TestKnownActions_ListsEveryActionConstant(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "authorize.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []Action
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Action" {
				continue
			}
			for _, v := range vs.Values {
				s, err := strconv.Unquote(v.(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				declared = append(declared, Action(s))
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("found no Action constants in authorize.go")
	}
	for _, a := range declared {
		if !slices.Contains(knownActions, a) {
			t.Errorf("action %q is missing from knownActions", a)
		}
	}
	if len(declared) != len(knownActions) {
		t.Errorf("authorize.go declares %d actions, knownActions lists %d", len(declared), len(knownActions))
	}
}
