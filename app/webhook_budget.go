package app

import "sync"

// defaultWebhookBodyBudget bounds the bytes of webhook bodies held at once
// when Options.WebhookBodyBudget is unset.
const defaultWebhookBodyBudget = 64 << 20

// bodyBudget counts the webhook body bytes held in memory across all
// requests. A delivery reserves its size before its body is read and gives
// it back when answered; one that does not fit is turned away (503 with
// Retry-After) instead of growing the heap without bound.
type bodyBudget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

func (b *bodyBudget) reserve(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

func (b *bodyBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}
