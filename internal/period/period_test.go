package period

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Period
	}{
		{"10y", Period{Years: 10}},
		{"6mo", Period{Months: 6}},
		{"1y6mo", Period{Years: 1, Months: 6}},
		{"87600h", Period{Duration: 87600 * time.Hour}},
		{"90s", Period{Duration: 90 * time.Second}},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if back, err := Parse(got.String()); err != nil || back != got {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v", tc.in, got.String(), back, err)
		}
	}
	for _, bad := range []string{"", "y", "10x", "-5h", "10y-1h", "1.5y", "mo6"} {
		if p, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, p)
		}
	}
}

// Ten calendar years are what the law means by ten years; 87600 hours fall
// short of them by the leap days in between.
func TestPeriod_AfterCountsCalendarYears(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tenYears := Period{Years: 10}.After(start)
	if want := time.Date(2036, 3, 1, 12, 0, 0, 0, time.UTC); !tenYears.Equal(want) {
		t.Fatalf("10y after %s = %s, want %s", start, tenYears, want)
	}
	if short := start.Add(87600 * time.Hour); !short.Before(tenYears) || tenYears.Sub(short) < 48*time.Hour {
		t.Errorf("87600h after %s = %s; expected it days short of %s", start, short, tenYears)
	}
	leap := time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)
	if got := (Period{Years: 1}).After(leap); !got.Equal(time.Date(2029, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("1y after 29 February = %s, want 1 March", got)
	}
	if got := (Period{Months: 1, Duration: time.Hour}).After(start); !got.Equal(time.Date(2026, 4, 1, 13, 0, 0, 0, time.UTC)) {
		t.Errorf("1mo1h after %s = %s", start, got)
	}
}
