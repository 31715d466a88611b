package main

import (
	"io"
	"log/slog"

	"github.com/bevis-ir/bevis/internal/config"
)

// newLogger logs JSON for machines or text for people, at the configured level.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
