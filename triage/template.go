package triage

import (
	"sort"
	"strings"
)

// wildcard stands for the part of a token that varies between occurrences
// of one template. Normalize never produces it, so a learned template is
// told apart from a message.
const wildcard = "<*>"

// TemplateMiner learns message templates from normalised messages, in the
// manner of the Drain log parser: messages of one category and token
// count (their shape) are compared token by token, and a position whose
// values differ becomes a wildcard. Three choices keep near-misses apart,
// since in CI one differing token is often the whole cause:
//
//   - a position becomes a wildcard only once Siblings distinct values
//     have been seen there with the rest of the message alike, so two
//     messages that differ in one word (a module, a symbol) stay apart;
//   - tokens that name causes never become wildcards: numbers that
//     Normalize kept (exit codes, HTTP statuses), identifiers with an
//     inner capital (pricing.Discount, TestCheckoutTax), codes in capitals
//     (ENOTFOUND, E0425), code in backticks and test ids with "::";
//   - messages of different categories or token counts never meet.
//
// The result depends only on the messages and their order. Memory is
// bounded by MaxClusters and MaxClustersPerShape: past them a message is
// matched against what was learned but nothing new is stored. A miner is
// not safe for concurrent use.
type TemplateMiner struct {
	opts    MinerOptions
	buckets map[shapeKey][]*templateCluster
	live    int
	nextID  uint32
	cache   map[cacheKey]*templateCluster // exact message → cluster, cleared on merges
	// The fingerprints of clusters the cache reached, cleared with it: a
	// log repeats its messages, and the hash costs more than finding the
	// cluster. A widened template is a new cluster, so a memo never goes
	// stale; kept beside the clusters rather than in them so that a stored
	// miner's templates (100k of them, bounded in memory) carry nothing.
	fps map[*templateCluster]fingerprintMemo
	// Messages Match found no template for, with their text: they are
	// looked for again in every later log, through whole buckets (often
	// full ones). Cleared whenever a template is created or widened.
	unmatched map[cacheKey]string
	index     map[shapeKey]*tokenIndex // for Match, built on first use, dropped when the bucket changes
	changes   uint64                   // templates created or widened, in this process
	merges    uint64                   // templates widened, in this process
}

// MinerOptions tune a TemplateMiner; the zero value means the defaults.
type MinerOptions struct {
	Similarity          float64 // share of tokens that must agree to merge; default 0.5
	Siblings            int     // distinct values before a position is a wildcard; default 3
	MaxClusters         int     // default 200000
	MaxClustersPerShape int     // per category and token count, each scanned linearly; default 1024
}

func (o MinerOptions) withDefaults() MinerOptions {
	if !(o.Similarity > 0 && o.Similarity <= 1) {
		o.Similarity = 0.5
	}
	if o.Siblings < 2 {
		o.Siblings = 3
	}
	if o.MaxClusters <= 0 {
		o.MaxClusters = 200000
	}
	if o.MaxClustersPerShape <= 0 {
		o.MaxClustersPerShape = 1024
	}
	return o
}

// Template is a learned template: ID 0 means the message was not stored
// (a bound was reached) and Text is the message itself.
type Template struct {
	ID       uint32
	Category Category
	Text     string // tokens joined by single spaces; "<*>" marks what varies
	Count    uint64 // messages added to it
}

// cacheKey is a message of a category; a struct rather than a joined
// string, so looking a message up copies nothing.
type cacheKey struct {
	cat Category
	msg string
}

type shapeKey struct {
	cat    Category
	tokens int
}

type templateCluster struct {
	id    uint32
	plain bool // no wildcard or placeholder: only the same text fits
	cat   Category
	text  string
	ends  []uint16 // end of each token in text
	count uint64
}

// fingerprintMemo is a cluster's fingerprint with the identity it was last
// asked for.
type fingerprintMemo struct{ fp, identity string }

const maxMinerCache = 1 << 16

// NewTemplateMiner returns an empty miner.
func NewTemplateMiner(opts MinerOptions) *TemplateMiner {
	return &TemplateMiner{
		opts:      opts.withDefaults(),
		buckets:   map[shapeKey][]*templateCluster{},
		nextID:    1,
		cache:     map[cacheKey]*templateCluster{},
		unmatched: map[cacheKey]string{},
		index:     map[shapeKey]*tokenIndex{},
	}
}

func (c *templateCluster) token(i int) string {
	start := 0
	if i > 0 {
		start = int(c.ends[i-1]) + 1
	}
	return c.text[start:c.ends[i]]
}

func (c *templateCluster) template() Template {
	return Template{ID: c.id, Category: c.cat, Text: c.text, Count: c.count}
}

func newCluster(id uint32, cat Category, toks []string, count uint64) *templateCluster {
	text := strings.Join(toks, " ")
	ends := make([]uint16, len(toks))
	n := 0
	for i, t := range toks {
		n += len(t)
		ends[i] = uint16(n)
		n++
	}
	return &templateCluster{id: id, plain: strings.IndexByte(text, '<') < 0, cat: cat, text: text, ends: ends, count: count}
}

// minerTokens splits a normalised message. Normalize bounds messages to
// MaxNormalizedLen bytes, so token ends fit in a uint16; longer input is cut.
func minerTokens(msg string) []string {
	if len(msg) > 1<<15 {
		msg = cutRunes(msg, 1<<15)
	}
	return strings.Fields(msg)
}

// Add learns from one normalised message of a category and returns the
// template it now belongs to.
func (m *TemplateMiner) Add(cat Category, normalized string) Template {
	key := cacheKey{cat, normalized}
	if c, ok := m.cache[key]; ok {
		c.count++
		return c.template()
	}
	toks := minerTokens(normalized)
	shape := shapeKey{cat, len(toks)}
	bucket := m.buckets[shape]
	if c := fitting(bucket, toks); c != nil {
		c.count++
		m.remember(key, c)
		return c.template()
	}
	if c := m.mergeSiblings(shape, toks); c != nil {
		return c.template()
	}
	if m.live >= m.opts.MaxClusters || len(bucket) >= m.opts.MaxClustersPerShape || len(toks) == 0 {
		return Template{Category: cat, Text: strings.Join(toks, " ")}
	}
	c := newCluster(m.nextID, cat, toks, 1)
	m.nextID++
	m.live++
	m.changes++
	m.buckets[shape] = append(bucket, c)
	delete(m.index, shape)
	clear(m.unmatched)
	m.remember(key, c)
	return c.template()
}

// Match returns the learned template a message fits, without learning;
// a message that fits none is its own template, with ID 0.
func (m *TemplateMiner) Match(cat Category, normalized string) Template {
	key := cacheKey{cat, normalized}
	if c, ok := m.cache[key]; ok {
		return c.template()
	}
	if text, ok := m.unmatched[key]; ok {
		return Template{Category: cat, Text: text}
	}
	toks := minerTokens(normalized)
	if c := m.matching(shapeKey{cat, len(toks)}, toks); c != nil {
		m.remember(key, c)
		return c.template()
	}
	text := strings.Join(toks, " ")
	if len(m.unmatched) >= maxMinerCache {
		clear(m.unmatched)
	}
	m.unmatched[cacheKey{cat, strings.Clone(normalized)}] = text
	return Template{Category: cat, Text: text}
}

// Fingerprint is Fingerprint over the template a message matches, so that
// messages of one learned template share it.
func (m *TemplateMiner) Fingerprint(cat Category, normalized, identity string) string {
	if c, ok := m.cache[cacheKey{cat, normalized}]; ok {
		memo, ok := m.fps[c]
		if !ok || memo.identity != identity {
			memo = fingerprintMemo{Fingerprint(c.cat, c.text, identity), strings.Clone(identity)}
			if m.fps == nil {
				m.fps = map[*templateCluster]fingerprintMemo{}
			}
			m.fps[c] = memo
		}
		return memo.fp
	}
	return Fingerprint(cat, m.Match(cat, normalized).Text, identity)
}

// Templates lists the learned templates, most frequent first, then by ID.
func (m *TemplateMiner) Templates() []Template {
	out := make([]Template, 0, m.live)
	for _, b := range m.buckets {
		for _, c := range b {
			out = append(out, c.template())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Changes counts the templates this miner created or widened since it was
// made or decoded: a caller that stores the miner writes it only when the
// count moved. Counts of messages alone change nothing it must store.
func (m *TemplateMiner) Changes() uint64 { return m.changes }

// Widenings counts the templates widened since the miner was made or
// decoded: after one, messages seen before may fingerprint differently.
func (m *TemplateMiner) Widenings() uint64 { return m.merges }

// FailureFingerprint is a failure's fingerprint over the template its
// normalised message matches: the one Analyze gave it when the template
// is the message itself, a shared one when the message varies.
func (m *TemplateMiner) FailureFingerprint(f Failure) string {
	return m.Fingerprint(f.Category, f.NormalizedMessage, f.Identity)
}

// Len is the number of templates stored.
func (m *TemplateMiner) Len() int { return m.live }

func (m *TemplateMiner) remember(key cacheKey, c *templateCluster) {
	if len(m.cache) >= maxMinerCache {
		clear(m.cache)
		clear(m.fps)
	}
	// A copy: the caller's message may be a slice of a whole log, which
	// the cache would otherwise keep alive.
	key.msg = strings.Clone(key.msg)
	m.cache[key] = c
}

// tokenIndex narrows a bucket, for Match, to the clusters that can fit a
// message, by the token at one position: those whose token there is that
// very word, and those whose token there varies (a wildcard or a
// placeholder). The position is the one where most templates have a
// constant word, so the second list is short. Both lists hold positions
// in the bucket, ascending, so the first fit in creation order is found.
type tokenIndex struct {
	pos    int
	byWord map[string][]int32
	varies []int32
}

func buildTokenIndex(bucket []*templateCluster, ntoks int) *tokenIndex {
	best, bestConst := 0, -1
	for p := 0; p < ntoks; p++ {
		n := 0
		for _, c := range bucket {
			if strings.IndexByte(c.token(p), '<') < 0 {
				n++
			}
		}
		if n > bestConst {
			best, bestConst = p, n
		}
	}
	ix := &tokenIndex{pos: best, byWord: map[string][]int32{}}
	for i, c := range bucket {
		if t := c.token(best); strings.IndexByte(t, '<') >= 0 {
			ix.varies = append(ix.varies, int32(i))
		} else {
			ix.byWord[t] = append(ix.byWord[t], int32(i))
		}
	}
	return ix
}

// matching is fitting through the bucket's tokenIndex. Learning (Add)
// changes buckets too often for an index to pay; matching a stream of
// messages against learned templates is what it is for.
func (m *TemplateMiner) matching(shape shapeKey, toks []string) *templateCluster {
	bucket := m.buckets[shape]
	if len(bucket) < 8 || len(toks) == 0 {
		return fitting(bucket, toks)
	}
	ix := m.index[shape]
	if ix == nil {
		ix = buildTokenIndex(bucket, len(toks))
		m.index[shape] = ix
	}
	exact, varies := ix.byWord[toks[ix.pos]], ix.varies
	for len(exact) > 0 || len(varies) > 0 {
		var i int32
		if len(varies) == 0 || len(exact) > 0 && exact[0] < varies[0] {
			i, exact = exact[0], exact[1:]
		} else {
			i, varies = varies[0], varies[1:]
		}
		if c := bucket[i]; fits(c, toks) {
			return c
		}
	}
	return nil
}

// fits reports whether the tokens fit a cluster's template.
func fits(c *templateCluster, toks []string) bool {
	for i, t := range toks {
		if !tokenFits(c.token(i), t) {
			return false
		}
	}
	return true
}

// fitting returns the first cluster, in creation order, whose template
// the tokens fit.
func fitting(bucket []*templateCluster, toks []string) *templateCluster {
	last := len(toks) - 1
	// A plain template is fitted by its own text only; the message's
	// text, joined as templates are, is compared once instead of token by
	// token. Its length is enough to pass most plain templates by.
	n := last
	for _, t := range toks {
		n += len(t)
	}
	joined := ""
	for _, c := range bucket {
		if c.plain {
			if len(c.text) != n {
				continue
			}
			if joined == "" {
				joined = strings.Join(toks, " ")
			}
			if c.text == joined {
				return c
			}
			continue
		}
		// Templates of one shape mostly share their first tokens (a
		// timestamp, a level) and differ at the end: look there first.
		if last > 0 && !tokenFits(c.token(last), toks[last]) {
			continue
		}
		ok := true
		for i, t := range toks {
			if !tokenFits(c.token(i), t) {
				ok = false
				break
			}
		}
		if ok {
			return c
		}
	}
	return nil
}

// tokenFits reports whether a message token fits a template token: equal,
// or matching a wildcard's constant prefix and suffix without being a
// token that names a cause.
func tokenFits(tpl, tok string) bool {
	if tpl == tok {
		return true
	}
	i := strings.Index(tpl, wildcard)
	if i < 0 {
		return samePlaceholders(tpl, tok) || placeholderFits(tpl, tok)
	}
	pre, suf := tpl[:i], tpl[i+len(wildcard):]
	return len(tok) >= len(pre)+len(suf) && strings.HasPrefix(tok, pre) && strings.HasSuffix(tok, suf) && !namesCause(tok)
}

// samePlaceholders reports whether two tokens are equal but for which
// placeholders Normalize put in them ("SHA256:<blob>", "SHA256:<id>"): the
// value was judged variable both times, only its shape differed.
func samePlaceholders(a, b string) bool {
	if strings.IndexByte(a, '<') < 0 || strings.IndexByte(b, '<') < 0 {
		return false
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] == '<' && b[j] == '<' {
			ei, ej := placeholderEnd(a, i), placeholderEnd(b, j)
			if ei > 0 && ej > 0 {
				i, j = ei, ej
				continue
			}
		}
		if a[i] != b[j] {
			return false
		}
		i++
		j++
	}
	return i == len(a) && j == len(b)
}

// placeholderFits reports whether a token fits a template token with one
// placeholder between a constant prefix and suffix ("pay_<blob>",
// "SKU-<n>-XL"): Normalize judged that part variable in the template's
// messages, so another value there that it did not recognise (an id of
// letters only) is the same variable. The constant part must say what the
// value is (two bytes or more), and the value must not name a cause.
func placeholderFits(tpl, tok string) bool {
	i := strings.IndexByte(tpl, '<')
	if i < 0 {
		return false
	}
	end := placeholderEnd(tpl, i)
	if end == 0 || strings.IndexByte(tpl[end:], '<') >= 0 {
		return false
	}
	pre, suf := tpl[:i], tpl[end:]
	if len(pre)+len(suf) < 2 || len(tok) <= len(pre)+len(suf) || !strings.HasPrefix(tok, pre) || !strings.HasSuffix(tok, suf) {
		return false
	}
	mid := tok[len(pre) : len(tok)-len(suf)]
	return strings.IndexByte(mid, '<') < 0 && !namesCause(mid)
}

// placeholderEnd returns the index after the placeholder at s[i], or 0.
func placeholderEnd(s string, i int) int {
	for k := i + 1; k < len(s); k++ {
		c := s[k]
		if c == '>' && k > i+1 {
			return k + 1
		}
		if c < 'a' || c > 'z' {
			return 0
		}
	}
	return 0
}

// mergeSiblings looks for clusters of the shape that differ from the
// message in the same positions only, in tokens free to vary, with enough
// of the message alike. When the message makes them Siblings in number,
// they become one cluster with wildcards there, which keeps the oldest id.
func (m *TemplateMiner) mergeSiblings(shape shapeKey, toks []string) *templateCluster {
	bucket := m.buckets[shape]
	if len(bucket) == 0 {
		return nil
	}
	need := int(m.opts.Similarity*float64(len(toks)) + 0.999999)
	groups := map[string][]int{}
	var order []string
	var diff []byte
	maxMiss := len(toks) - need
	for bi, c := range bucket {
		diff = diff[:0]
		miss := 0
		for i, t := range toks {
			if tokenFits(c.token(i), t) {
				continue
			}
			if miss++; miss > maxMiss {
				break
			}
			diff = append(diff, byte(i), byte(i>>8))
		}
		if miss > maxMiss || !freeToVary(c, toks, diff) {
			continue
		}
		k := string(diff)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], bi)
	}
	best := ""
	for _, k := range order {
		if len(groups[k])+1 >= m.opts.Siblings && len(groups[k]) > len(groups[best]) {
			best = k
		}
	}
	members := groups[best]
	if len(members)+1 < m.opts.Siblings {
		return nil
	}
	merged := append([]string(nil), toks...)
	first := bucket[members[0]]
	count := uint64(1)
	for _, bi := range members {
		c := bucket[bi]
		count += c.count
		for p := 0; p < len(best); p += 2 {
			i := int(best[p]) | int(best[p+1])<<8
			merged[i] = generalizeToken(merged[i], c.token(i))
		}
	}
	keep := newCluster(first.id, shape.cat, merged, count)
	drop := map[int]bool{}
	for _, bi := range members[1:] {
		drop[bi] = true
	}
	// Older, narrower clusters the new template covers join it too, or
	// they would keep the messages they fit, being first in order.
	for bi, c := range bucket {
		if bi == members[0] || drop[bi] || !covers(keep, c) {
			continue
		}
		drop[bi] = true
		keep.count += c.count
		members = append(members, bi)
	}
	out := bucket[:0]
	for bi, c := range bucket {
		switch {
		case bi == members[0]:
			out = append(out, keep)
		case !drop[bi]:
			out = append(out, c)
		}
	}
	clear(bucket[len(out):])
	m.buckets[shape] = out
	delete(m.index, shape)
	m.live -= len(members) - 1
	m.changes++
	m.merges++
	clear(m.cache)
	clear(m.fps)
	clear(m.unmatched)
	return keep
}

// covers reports whether every token of template c fits template t.
func covers(t, c *templateCluster) bool {
	for i := range c.ends {
		if !tokenFits(t.token(i), c.token(i)) {
			return false
		}
	}
	return true
}

// freeToVary reports whether no differing position holds a token that
// names a cause, in the message or in the cluster.
func freeToVary(c *templateCluster, toks []string, diff []byte) bool {
	for p := 0; p < len(diff); p += 2 {
		i := int(diff[p]) | int(diff[p+1])<<8
		if namesCause(toks[i]) || namesCause(c.token(i)) {
			return false
		}
	}
	return true
}

// generalizeToken returns a template token that both a and b fit: their
// common prefix and suffix, each cut at punctuation so a wildcard never
// starts or ends inside a word, around a wildcard.
func generalizeToken(a, b string) string {
	if a == b {
		return a
	}
	pa, sa := a, a
	if i := strings.Index(a, wildcard); i >= 0 {
		pa, sa = a[:i], a[i+len(wildcard):]
	}
	pb, sb := b, b
	if i := strings.Index(b, wildcard); i >= 0 {
		pb, sb = b[:i], b[i+len(wildcard):]
	}
	n := 0
	for n < len(pa) && n < len(pb) && pa[n] == pb[n] {
		n++
	}
	for n > 0 && !isCutAfter(pa[n-1]) {
		n--
	}
	pre := pa[:n]
	s := 0
	for s < len(sa) && s < len(sb) && sa[len(sa)-1-s] == sb[len(sb)-1-s] {
		s++
	}
	for s > 0 && !isCutBefore(sa[len(sa)-s]) {
		s--
	}
	suf := sa[len(sa)-s:]
	// A placeholder in the common part says the token varies as a
	// whole ("[pool-<n>-thread-<n>]", "[kafka-consumer-<n>]"): keep only
	// the punctuation around it, or the next value ("[main]") won't fit.
	if i := strings.IndexByte(pre, '<'); i >= 0 {
		pre = pre[:i]
		for len(pre) > 0 && !isCutAfter(pre[len(pre)-1]) {
			pre = pre[:len(pre)-1]
		}
	}
	if i := strings.LastIndexByte(suf, '>'); i >= 0 {
		suf = suf[i+1:]
		for len(suf) > 0 && !isCutBefore(suf[0]) {
			suf = suf[1:]
		}
	}
	// Prefix and suffix must not overlap in the shorter value.
	limit := min(len(pa)+len(sa), len(pb)+len(sb))
	if !strings.Contains(a, wildcard) {
		limit = min(limit, len(a))
	}
	if !strings.Contains(b, wildcard) {
		limit = min(limit, len(b))
	}
	for len(pre)+len(suf) > limit && len(suf) > 0 {
		suf = suf[1:]
		for len(suf) > 0 && !isCutBefore(suf[0]) {
			suf = suf[1:]
		}
	}
	for len(pre)+len(suf) > limit && len(pre) > 0 {
		pre = pre[:len(pre)-1]
		for len(pre) > 0 && !isCutAfter(pre[len(pre)-1]) {
			pre = pre[:len(pre)-1]
		}
	}
	return pre + wildcard + suf
}

func isCutAfter(c byte) bool  { return !isWordByte(c) && c != '<' && c != '-' && c != '.' }
func isCutBefore(c byte) bool { return !isWordByte(c) && c != '>' && c != '-' && c != '.' }

// isSourcePosition reports whether a token is a compiler's or a stack
// frame's position, "cart.go:<n>" or "src/cart.ts(<n>)": the file where
// the error is.
func isSourcePosition(tok string) bool {
	for _, sep := range []string{":" + phNum, "(" + phNum} {
		i := strings.Index(tok, sep)
		if i <= 0 {
			continue
		}
		dot := strings.LastIndexByte(tok[:i], '.')
		if dot < 0 || i-dot-1 < 1 || i-dot-1 > 4 {
			continue
		}
		ext := tok[dot+1 : i]
		if strings.Trim(ext, "abcdefghijklmnopqrstuvwxyz") == "" {
			return true
		}
	}
	return false
}

// namesCause reports whether a token tells causes apart and must never
// become a wildcard: a number Normalize kept (an exit code, an HTTP
// status), an identifier with an inner capital, a code in capitals, code
// in backticks or a test id with "::".
func namesCause(tok string) bool {
	if strings.Contains(tok, "::") || strings.HasPrefix(tok, "`") || isSourcePosition(tok) {
		return true
	}
	if q := strings.TrimLeft(tok, `([{`); len(q) > 2 && (q[0] == '\'' || q[0] == '"') && q[1] >= 'A' && q[1] <= 'Z' {
		// A quoted name with a capital: a type, class or symbol.
		name := strings.TrimRight(q[1:], `'".,:;)]}`)
		if strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.$") == "" {
			return true
		}
	}
	digits, letters, caps, switches := 0, 0, 0, 0
	lowerSeen, innerCap, placeholder := false, false, false
	prevCase := byte(0)
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c == '<':
			// Skip a placeholder: its letters are not the message's.
			if j := placeholderEnd(tok, i); j > 0 {
				i = j - 1
				placeholder = true
			}
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z':
			letters++
			lowerSeen = true
			if prevCase == 'A' {
				switches++
			}
			prevCase = 'a'
		case c >= 'A' && c <= 'Z':
			letters++
			caps++
			if lowerSeen {
				innerCap = true
			}
			if prevCase == 'a' {
				switches++
			}
			prevCase = 'A'
		}
	}
	switch {
	case digits > 0 && letters == 0 && !placeholder:
		return true
	case placeholder:
		// A token with a variable part is an id, not a name or a code:
		// "SKU-<n>-XL", "pay_<blob>".
		return false
	case innerCap && switches*5 < letters*2:
		// camelCase or a dotted name changes case once per word;
		// random mixed-case ids change about every other letter.
		return true
	case caps >= 3 && caps == letters:
		return true
	}
	return false
}
