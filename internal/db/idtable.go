package db

import (
	"encoding/json"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// IDTable is a table of one column, id, holding ids, for a statement to
// start from or test against (… IN (SELECT id FROM ?)): sent as one JSON
// value whatever their number, where a list of placeholders would meet the
// dialects' limits on them and make a statement of its own for each length.
// The planners read it as a small table (PostgreSQL estimates a function's
// rows at 100), so a statement finds its rows from it by their keys.
func IDTable(gdb *gorm.DB, ids []string) clause.Expr {
	if ids == nil {
		ids = []string{}
	}
	list, _ := json.Marshal(ids) // a []string always encodes
	if Dialect(gdb) == Postgres {
		return clause.Expr{SQL: "(SELECT jsonb_array_elements_text(CAST(? AS jsonb)) AS id)", Vars: []any{string(list)}}
	}
	return clause.Expr{SQL: "(SELECT value AS id FROM json_each(?))", Vars: []any{string(list)}}
}
