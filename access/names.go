package access

import (
	"context"
	"fmt"
	"slices"
)

// PersonName is how a person is shown to others on a case: their name and
// their agency's, never their email or role.
type PersonName struct {
	Name       string
	AgencyID   string
	AgencyName string
}

// AgencyName is how an agency is shown.
type AgencyName struct {
	Name string
	Code string
}

// Names names the people and agencies given by ID, in at most two queries
// whatever their number. IDs that name nobody are left out. Whether the
// caller may see the names (they are referenced on a case the caller may
// read) is decided before.
func (d *Directory) Names(ctx context.Context, userIDs, agencyIDs []string) (map[string]PersonName, map[string]AgencyName, error) {
	people := map[string]PersonName{}
	agencies := map[string]AgencyName{}
	db := d.db.WithContext(ctx)
	if userIDs = compactIDs(userIDs); len(userIDs) > 0 {
		var rows []struct{ ID, Name, AgencyID, AgencyName, AgencyCode string }
		if err := db.Table("users u").Select("u.id, u.name, u.agency_id, a.name AS agency_name, a.code AS agency_code").
			Joins("JOIN agencies a ON a.id = u.agency_id").Where("u.id IN ?", userIDs).Scan(&rows).Error; err != nil {
			return nil, nil, fmt.Errorf("access: names: %w", err)
		}
		for _, r := range rows {
			people[r.ID] = PersonName{Name: r.Name, AgencyID: r.AgencyID, AgencyName: r.AgencyName}
			agencies[r.AgencyID] = AgencyName{Name: r.AgencyName, Code: r.AgencyCode}
		}
	}
	// The agencies of the people named are known already.
	agencyIDs = slices.DeleteFunc(compactIDs(agencyIDs), func(id string) bool { _, ok := agencies[id]; return ok })
	if len(agencyIDs) > 0 {
		var rows []agencyRow
		if err := db.Where("id IN ?", agencyIDs).Find(&rows).Error; err != nil {
			return nil, nil, fmt.Errorf("access: names: %w", err)
		}
		for _, r := range rows {
			agencies[r.ID] = AgencyName{Name: r.Name, Code: r.Code}
		}
	}
	return people, agencies, nil
}

// compactIDs sorts ids and drops empty and repeated ones.
func compactIDs(ids []string) []string {
	out := slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == "" })
	slices.Sort(out)
	return slices.Compact(out)
}
