package api

import (
	"context"
)

// Every object of a case that refers to people or agencies by ID names
// them too, in its own "people" and "agencies", so that a person of
// another agency reads as a name, not an ID. The names of a whole answer
// are looked up at once (two queries at most), however long the list.

type personNameJSON struct {
	Name       string `json:"name"`
	AgencyID   string `json:"agency_id"`
	AgencyName string `json:"agency_name"`
}

type agencyNameJSON struct {
	Name string `json:"name"`
	Code string `json:"code"`
}

// namesJSON is embedded in the objects that refer to people and agencies.
type namesJSON struct {
	People   map[string]personNameJSON `json:"people"`
	Agencies map[string]agencyNameJSON `json:"agencies"`
}

func (n *namesJSON) names() *namesJSON { return n }

// referrer is an answer's object that refers to people and agencies.
type referrer interface {
	// references lists the IDs the object refers to ("" where none).
	references() (people, agencies []string)
	names() *namesJSON
}

// nameAll fills in the names of every object, in one lookup for them all.
func (s *server) nameAll(ctx context.Context, objects ...referrer) error {
	var people, agencies []string
	for _, o := range objects {
		p, a := o.references()
		people, agencies = append(people, p...), append(agencies, a...)
	}
	knownPeople, knownAgencies, err := s.Directory.Names(ctx, people, agencies)
	if err != nil {
		return err
	}
	for _, o := range objects {
		p, a := o.references()
		n := o.names()
		n.People, n.Agencies = map[string]personNameJSON{}, map[string]agencyNameJSON{}
		for _, id := range p {
			if who, ok := knownPeople[id]; ok {
				n.People[id] = personNameJSON(who)
				// A person's agency is named with them.
				a = append(a, who.AgencyID)
			}
		}
		for _, id := range a {
			if ag, ok := knownAgencies[id]; ok {
				n.Agencies[id] = agencyNameJSON(ag)
			}
		}
	}
	return nil
}
