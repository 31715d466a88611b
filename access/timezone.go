package access

import (
	"context"
	"strings"
	"time"

	// Time zones are checked against the database built into the binary,
	// so every host accepts the same names.
	_ "time/tzdata"

	"github.com/bevis-ir/bevis/internal/validate"
)

// SetTimeZone sets the time zone a person reads times in: an IANA name
// such as Europe/Oslo, or "" for their browser's. It is recorded on the
// audit log like any change to a person.
func (d *Directory) SetTimeZone(ctx context.Context, userID, zone string) (User, error) {
	zone = strings.TrimSpace(zone)
	if zone != "" {
		// LoadLocation also takes "Local" and file paths; only names of the
		// database (Area/Place, or UTC) are a person's zone.
		if _, err := time.LoadLocation(zone); err != nil || zone == "Local" || len(zone) > 64 ||
			strings.HasPrefix(zone, "/") || strings.Contains(zone, "..") {
			return User{}, validate.Field("time_zone", "must be an IANA time zone name, such as Europe/Oslo, or empty")
		}
	}
	if err := d.update(ctx, "users.time_zone", &userRow{}, userID, map[string]any{"time_zone": zone, "updated_at": d.now()}); err != nil {
		return User{}, err
	}
	return d.User(ctx, userID)
}
