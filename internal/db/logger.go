package db

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// slowStatement is how long a statement runs before it is logged.
const slowStatement = 500 * time.Millisecond

// newLogger is GORM's log of statements for Bevis: failed and slow ones, as
// a statement's text with its parameters left out (they may be case data).
func newLogger(log *slog.Logger) logger.Interface {
	return tracedWhenLogged{Interface: logger.NewSlogLogger(log, logger.Config{
		SlowThreshold:             slowStatement,
		LogLevel:                  logger.Warn,
		IgnoreRecordNotFoundError: true,
		ParameterizedQueries:      true,
	}), level: logger.Warn}
}

// tracedWhenLogged asks for a statement's text only when it is to be
// logged. GORM's slog logger writes it out (with regular expressions) for
// every statement before it decides: an eighth of the bytes a case
// creation allocated, for statements that were never logged.
type tracedWhenLogged struct {
	logger.Interface
	level logger.LogLevel
}

func (l tracedWhenLogged) LogMode(level logger.LogLevel) logger.Interface {
	return tracedWhenLogged{Interface: l.Interface.LogMode(level), level: level}
}

// ParamsFilter leaves every statement's parameters out of its log. GORM
// asks the logger it holds whether it filters them, and a method of the
// embedded interface's value is not this type's own: without it, failed
// and slow statements were logged with their values written in.
func (tracedWhenLogged) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

func (l tracedWhenLogged) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	failed := err != nil && !errors.Is(err, gorm.ErrRecordNotFound)
	if l.level < logger.Info && !failed && time.Since(begin) <= slowStatement {
		return
	}
	l.Interface.Trace(ctx, begin, fc, err)
}
