package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/validate"
)

const (
	maxCommentText = 20000
	maxMentions    = 50
)

// Comment is a note on a case or on one of its tasks. Mentions name
// members of the case; the comment's text is kept as written.
type Comment struct {
	ID        string
	CaseID    string
	TaskID    string
	AuthorID  string
	Body      string
	Mentions  []string
	CreatedAt time.Time
}

type commentRow struct {
	ID        string `gorm:"primaryKey"`
	CaseID    string
	TaskID    *string
	AuthorID  string
	Body      string
	CreatedAt time.Time
}

func (commentRow) TableName() string { return "comments" }

type mentionRow struct {
	CommentID string `gorm:"primaryKey"`
	UserID    string `gorm:"primaryKey"`
}

func (mentionRow) TableName() string { return "comment_mentions" }

// NewComment is the input to AddComment.
type NewComment struct {
	TaskID   string // empty: a comment on the case itself
	Body     string
	Mentions []string // user IDs of case members
}

// AddComment records a comment. Everyone mentioned must be able to read
// the case, so a mention never tells an outsider that the case exists.
func (t *Tasks) AddComment(ctx context.Context, p access.Principal, caseID string, in NewComment) (Comment, error) {
	var v validate.Errors
	v.Check(strings.TrimSpace(in.Body) != "", "body", "must not be empty")
	v.Text("body", in.Body, maxCommentText)
	v.Check(len(in.Mentions) <= maxMentions, "mentions", fmt.Sprintf("at most %d people", maxMentions))
	if err := v.Err(); err != nil {
		return Comment{}, err
	}
	mentions := slices.Compact(slices.Sorted(slices.Values(in.Mentions)))
	for i, userID := range mentions {
		_, err := t.members.UserCaseRole(ctx, userID, caseID)
		if errors.Is(err, access.ErrNotFound) {
			v.Add(fmt.Sprintf("mentions[%d]", i), "is not a member of this case")
		} else if err != nil {
			return Comment{}, err
		}
	}
	if err := v.Err(); err != nil {
		return Comment{}, err
	}
	row := commentRow{ID: newID(), CaseID: caseID, TaskID: nonEmpty(in.TaskID), AuthorID: p.UserID, Body: in.Body,
		CreatedAt: t.now()}
	err := t.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if in.TaskID != "" {
			var n int64
			if err := tx.Model(&taskRow{}).Where("id = ? AND case_id = ?", in.TaskID, caseID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return ErrTaskNotFound
			}
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := recordChange(ctx, tx, "cases.comments.post", "comments", row.ID, caseID); err != nil {
			return err
		}
		for _, userID := range mentions {
			if err := tx.Create(&mentionRow{CommentID: row.ID, UserID: userID}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrTaskNotFound) {
		return Comment{}, err
	}
	if err != nil {
		return Comment{}, fmt.Errorf("cases: add comment: %w", err)
	}
	return Comment{ID: row.ID, CaseID: caseID, TaskID: in.TaskID, AuthorID: p.UserID, Body: in.Body,
		Mentions: mentions, CreatedAt: row.CreatedAt}, nil
}

// CommentFilter pages through the comments of a case or a task.
type CommentFilter struct {
	TaskID string // empty: the comments on the case itself
	Limit  int
	After  string
}

// Comments lists comments oldest first, with their mentions, in two
// queries whatever the page size.
func (t *Tasks) Comments(ctx context.Context, caseID string, f CommentFilter) ([]Comment, error) {
	db := t.db.WithContext(ctx)
	q := db.Where("case_id = ?", caseID)
	if f.TaskID == "" {
		q = q.Where("task_id IS NULL")
	} else {
		q = q.Where("task_id = ?", f.TaskID)
	}
	if f.After != "" {
		q = q.Where("id > ?", f.After)
	}
	var rows []commentRow
	if err := q.Order("id").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("cases: comments: %w", err)
	}
	out := make([]Comment, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var mentions []mentionRow
	if err := db.Where("comment_id IN ?", ids).Order("comment_id, user_id").Find(&mentions).Error; err != nil {
		return nil, fmt.Errorf("cases: comments: %w", err)
	}
	byComment := map[string][]string{}
	for _, m := range mentions {
		byComment[m.CommentID] = append(byComment[m.CommentID], m.UserID)
	}
	for i, r := range rows {
		out[i] = Comment{ID: r.ID, CaseID: r.CaseID, TaskID: deref(r.TaskID), AuthorID: r.AuthorID, Body: r.Body,
			Mentions: byComment[r.ID], CreatedAt: r.CreatedAt}
	}
	return out, nil
}
