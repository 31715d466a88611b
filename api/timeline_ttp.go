package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
)

type ttpJSON struct {
	Tactics   []tacticUseJSON `json:"tactics"`
	Truncated bool            `json:"truncated"`
}

type tacticUseJSON struct {
	ID         *string            `json:"id"`   // null for events with techniques but no tactic
	Name       *string            `json:"name"` // null outside ATT&CK Enterprise
	Techniques []techniqueUseJSON `json:"techniques"`
}

type techniqueUseJSON struct {
	ID        string `json:"id"`
	Events    int64  `json:"events"`
	FirstSeen string `json:"first_seen"`
	LastSeen  string `json:"last_seen"`
	// Filter is the query of the timeline listing that holds these events.
	Filter ttpFilterJSON `json:"filter"`
}

type ttpFilterJSON struct {
	Technique string `json:"technique"`
}

// timelineTTP answers the ATT&CK techniques of the case's timeline by
// tactic, over the events the caller may see.
func (s *server) timelineTTP(c *fiber.Ctx) error {
	reader, err := s.timelineReader(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	// It takes no filter yet: one asked for must not be silently ignored.
	var v validate.Errors
	c.Context().QueryArgs().VisitAll(func(key, _ []byte) { v.Add(string(key), "is not a parameter of the TTP summary") })
	if err := v.Err(); err != nil {
		return err
	}
	summary, err := s.Timeline.TTP(c.UserContext(), c.Params("id"), reader)
	if err != nil {
		return err
	}
	out := ttpJSON{Tactics: make([]tacticUseJSON, len(summary.Tactics)), Truncated: summary.Truncated}
	for i, g := range summary.Tactics {
		tg := tacticUseJSON{ID: orNull(g.Tactic), Name: orNull(g.Name), Techniques: make([]techniqueUseJSON, len(g.Techniques))}
		for j, u := range g.Techniques {
			tg.Techniques[j] = techniqueUseJSON{ID: u.Technique, Events: u.Events, FirstSeen: timestamp(u.FirstSeen),
				LastSeen: timestamp(u.LastSeen), Filter: ttpFilterJSON{Technique: u.Technique}}
		}
		out.Tactics[i] = tg
	}
	return c.JSON(out)
}
