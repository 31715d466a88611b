// Package period is a length of time that may be counted in calendar years
// and months, as the law counts retention: ten years from 2026-03-01 end on
// 2036-03-01, which no fixed number of hours reaches in every decade (87600h
// falls two or three days short, by the leap days between).
package period

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Period is Years calendar years, then Months calendar months, then
// Duration. The zero Period is no time at all.
type Period struct {
	Years    int
	Months   int
	Duration time.Duration
}

// Of is a Period of a fixed duration.
func Of(d time.Duration) Period { return Period{Duration: d} }

// After returns the moment p after t, counting years and months on the
// calendar of t's location (UTC for the times Bevis keeps), like
// time.AddDate: 29 February plus a year is 1 March.
func (p Period) After(t time.Time) time.Time {
	return t.AddDate(p.Years, p.Months, 0).Add(p.Duration)
}

// Positive reports whether p is longer than nothing.
func (p Period) Positive() bool {
	return p.Years > 0 || p.Months > 0 || p.Duration > 0
}

// String gives p back in the form Parse reads: "10y", "18mo", "720h0m0s".
func (p Period) String() string {
	s := ""
	if p.Years != 0 {
		s += strconv.Itoa(p.Years) + "y"
	}
	if p.Months != 0 {
		s += strconv.Itoa(p.Months) + "mo"
	}
	if p.Duration != 0 || s == "" {
		s += p.Duration.String()
	}
	return s
}

var calendar = regexp.MustCompile(`^(?:(\d{1,4})y)?(?:(\d{1,5})mo)?$`)

// Parse reads a number of calendar years ("10y"), months ("6mo"), both
// ("1y6mo"), or a Go duration ("720h"). Negative periods are refused.
func Parse(s string) (Period, error) {
	if m := calendar.FindStringSubmatch(s); m != nil && s != "" {
		y, _ := strconv.Atoi(m[1]) // digits only, or empty: 0
		mo, _ := strconv.Atoi(m[2])
		return Period{Years: y, Months: mo}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return Period{}, fmt.Errorf("%q is not a period like 10y, 6mo or 720h", s)
	}
	if d < 0 {
		return Period{}, fmt.Errorf("%q is negative", s)
	}
	return Period{Duration: d}, nil
}
