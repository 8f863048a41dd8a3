package triage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxNormalizedLen bounds a normalised message (bytes, cut on a rune boundary).
const MaxNormalizedLen = 512

// Placeholders that replace the values normalisation removes. None of them
// contains a digit or hex run, so normalising twice changes nothing.
const (
	phNum  = "<n>"
	phHex  = "<hex>"
	phUUID = "<uuid>"
	phTime = "<time>"
	phDate = "<date>"
	phDur  = "<dur>"
	phIP   = "<ip>"
	phTmp  = "<tmp>"
)

// The order matters: wider shapes (UUIDs, timestamps, IPs, durations) are
// replaced before the bare-number rule would cut them into pieces.
var (
	reANSI       = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78]`)
	reUUID       = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	reDateTime   = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2}\b)?`)
	reDate       = regexp.MustCompile(`\b(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}/\d{1,2}/\d{4})\b`)
	reSyslogTime = regexp.MustCompile(`\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d{2}:\d{2}:\d{2}\b|\b\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2}( [+-]\d{4})?`)
	reTime       = regexp.MustCompile(`\b\d{1,2}:\d{2}:\d{2}([.,]\d+)?(Z|\s?[AP]M\b)?`)
	reTmpPath    = regexp.MustCompile(`(/private)?(/var/folders/[^/\s]+/[^/\s]+/T|/tmp|/var/tmp|/dev/shm)/[^/\s:'"()\[\]<>]+|(?i)\b[a-z]:\\Users\\[^\\\s]+\\AppData\\Local\\Temp\\[^\\\s:'"]+`)
	reWorkspace  = regexp.MustCompile(`(?:/home/runner/work|/Users/runner/work|/home/[^/\s]+/actions-runner/_work)/[^/\s]+/[^/\s]+/|/github/workspace/|/builds/[^/\s]+/[^/\s]+/|/var/lib/jenkins/workspace/[^/\s]+/|/drone/src/|/go/src/[^/\s]+/[^/\s]+/[^/\s]+/|(?i)\b[a-z]:\\a\\[^\\\s]+\\[^\\\s]+\\`)
	reGoBuildDir = regexp.MustCompile(`<tmp>/b\d+\b`)
	reHome       = regexp.MustCompile(`(/home|/Users)/[^/\s:'"<>]+/|(?i)\b[a-z]:\\Users\\[^\\\s:'"]+\\`)
	reHex0x      = regexp.MustCompile(`0[xX][0-9a-fA-F]+`)
	reHexRun     = regexp.MustCompile(`\b[0-9a-fA-F]{7,}\b`)
	reIPv6       = regexp.MustCompile(`\[(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}\](?::\d+)?`)
	reIPv4       = regexp.MustCompile(`\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(:\d+)?\b`)
	reDuration   = regexp.MustCompile(`\b\d+(\.\d+)?(ns|us|µs|ms|s|m|h)(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))*\b|\b\d+(\.\d+)?\s?(milliseconds?|seconds?|secs?|minutes?|mins?|hours?)\b`)
	reNumber     = regexp.MustCompile(`\b\d+([.,]\d+)*\b`)
	reGoMap      = regexp.MustCompile(`map\[[^\[\]]*\]`)
	reSpaceRun   = regexp.MustCompile(`\s+`)
)

// Normalize rewrites a log or failure message so that two occurrences of the
// same cause compare equal across runs, machines and days: it strips terminal
// escapes and carriage-return progress output, and replaces timestamps,
// dates, UUIDs, hex ids and addresses, IPs and ports, temporary and home
// directories, durations and other numbers with fixed placeholders, and
// sorts the entries of printed Go maps. Identifiers, file names and error
// words are kept. Normalize is idempotent.
func Normalize(s string) string {
	if len(s) > 4*MaxNormalizedLen {
		s = cutRunes(s, 4*MaxNormalizedLen)
	}
	s = normalizeOnce(s)
	// A cut can leave text that normalises differently (a word's tail
	// reads as a number); normalise the cut text again until it is stable.
	for i := 0; len(s) > MaxNormalizedLen && i < 4; i++ {
		s = normalizeOnce(cutWord(s, MaxNormalizedLen))
	}
	if len(s) > MaxNormalizedLen {
		s = strings.TrimSpace(cutWord(s, MaxNormalizedLen))
	}
	return s
}

func normalizeOnce(s string) string {
	// Most lines are printable ASCII, which neither the terminal's
	// clean-up nor the UTF-8 repair changes: one look at each byte
	// spares them both.
	if !printableASCII(s) {
		s = cleanTerminal(s)
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
	}
	// CI runners stamp every line with the time (GitHub Actions:
	// "2024-05-02T10:11:20.5555556Z "). The date-time rule replaces it,
	// no rule before it can take part of it, and no rule after it looks
	// across the space that ends it, so the rest of the line is
	// normalised alone: every pass below is a third shorter.
	if end := leadingDateTime(s); end > 0 {
		return normalizeText(phTime, s[end:])
	}
	return normalizeText("", s)
}

// pathHints reports, in one look at each "/", whether s has what each
// path rule needs: a temporary directory ("/tmp/", "/var/", "/dev/shm/"),
// a CI checkout ("/work/", "workspace/", "/builds/", "/src/") or a home
// directory ("/home/", "/Users/").
func pathHints(s string) (tmp, work, home bool) {
	for i := strings.IndexByte(s, '/'); i >= 0; {
		r := s[i:]
		switch {
		case strings.HasPrefix(r, "/tmp/"), strings.HasPrefix(r, "/var/"), strings.HasPrefix(r, "/dev/shm/"):
			tmp = true
		case strings.HasPrefix(r, "/work/"), strings.HasPrefix(r, "/builds/"), strings.HasPrefix(r, "/src/"):
			work = true
		case strings.HasPrefix(r, "/home/"), strings.HasPrefix(r, "/Users/"):
			home = true
		}
		if i >= len("workspace") && s[i-len("workspace"):i] == "workspace" {
			work = true
		}
		j := strings.IndexByte(r[1:], '/')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return tmp, work, home
}

// leadingDateTime returns the end of the date and time s starts with, when
// a space or tab follows it, or 0.
func leadingDateTime(s string) int {
	if len(s) <= 16 || !isDigit(s[0]) {
		return 0
	}
	if end := matchDateTime(s, 0); end > 0 && end < len(s) && (s[end] == ' ' || s[end] == '\t') {
		return end
	}
	return 0
}

// normalizeText is normalizeOnce after the terminal's clean-up: s is valid
// UTF-8 without control bytes but tabs. The result is s normalised, after
// stamp and a space when stamp is not "" (stamp alone when s normalises to
// ""): one string for the stamped line, not two.
func normalizeText(stamp, s string) string {
	// Each rule runs only when the bytes it needs are present: most log
	// lines skip most rules.
	// Every path rule needs a "/" or a "\\": one scan rules them all out
	// for most lines, before a dozen substring searches.
	backslash := strings.IndexByte(s, '\\') >= 0
	tmp, work, home := pathHints(s)
	if backslash || tmp {
		before := s
		s = reTmpPath.ReplaceAllString(s, phTmp)
		if strings.Contains(s, phTmp+"/b") {
			// go build work directories number packages in build order.
			s = reGoBuildDir.ReplaceAllString(s, phTmp+"/b"+phNum)
		}
		if s != before {
			// The checkout rule's hints are not all it needs: they
			// must be looked for in what the rule sees.
			_, work, home = pathHints(s)
		}
	}
	if backslash && strings.Contains(s, `\a\`) || work {
		// CI checkouts live in different places on different runners; a
		// path relative to the checkout is what a developer sees locally.
		if r := reWorkspace.ReplaceAllString(s, ""); r != s {
			// Removing a checkout can join two halves of a home.
			s = r
			_, _, home = pathHints(s)
		}
	}
	if backslash || home {
		s = reHome.ReplaceAllStringFunc(s, func(m string) string {
			if strings.HasSuffix(m, `\`) {
				return `~\`
			}
			return "~/"
		})
	}
	h := scanHints(s)
	if h.blob {
		// Before the hex and number rules, which would take pieces of it.
		if r := maskBlobs(s); r != s {
			s = r
			h = scanHints(s)
		}
	}
	if h.digit {
		// The guards below are necessary conditions of each pattern,
		// checked by hand because the patterns cost far more to run.
		if h.uuid {
			s = replaceUUIDs(s)
		}
		if h.dash && h.colon && hasISODate(s) {
			s = replaceDateTimes(s)
		}
		if h.shapes.date {
			s = replaceDates(s)
		}
		if h.shapes.clock {
			// syslog's "Dec  5 22:31:08" and the access log's
			// "05/Dec/2026:22:31:08 +0000" name the month: logs
			// spanning two months must not split on it.
			if hasMonthName(s) {
				s = replaceSyslogTimes(s)
			}
			s = replaceClockTimes(s)
		}
		if h.zeroX {
			s = reHex0x.ReplaceAllString(s, "0x"+phHex)
		}
		// The rules above can remove a hex run, not make one.
		if h.hexID {
			s = replaceHexRuns(s)
		}
		if h.bracket && hasIPv6Start(s) {
			s = replaceIPv6(s)
		}
		if h.shapes.quad {
			s = replaceIPv4s(s)
		}
		if h.shapes.dur {
			s = replaceDurations(s)
		}
	}
	// The token rule goes before the number rule, which would cut a host
	// name or an id into pieces that no longer look like one. Both write
	// into buffers on the stack for most lines.
	var tokBuf, outBuf [512]byte
	masked := appendMaskedTokens(tokBuf[:0], s)
	out := append(outBuf[:0], stamp...)
	if stamp != "" {
		out = append(out, ' ')
	}
	rest := bytes.TrimSpace(appendNumbersCollapsed(out, masked)[len(out):])
	if len(rest) == 0 {
		return stamp
	}
	// The text is trimmed in place: it is moved to follow the stamp.
	out = append(out, rest...)
	// No rule makes a "[": a line without one has no Go map.
	if h.bracket && bytes.Contains(out, []byte("map[")) {
		return reGoMap.ReplaceAllStringFunc(string(out), sortGoMap)
	}
	return string(out)
}

// afterHTTPVersion reports whether before ends in an HTTP version, as the
// status of a response line or an access log entry follows it:
// `HTTP/1.1 503` or `"GET /x HTTP/1.1" 404`.
func afterHTTPVersion(before []byte) bool {
	for len(before) > 0 && before[len(before)-1] == ' ' {
		before = before[:len(before)-1]
	}
	if len(before) > 0 && before[len(before)-1] == '"' {
		before = before[:len(before)-1]
	}
	// The version is one to three digits and dots after the last "HTTP/":
	// none of them can start another "HTTP/", so the suffix is enough.
	v := len(before)
	for v > 0 && len(before)-v < 4 && (isDigit(before[v-1]) || before[v-1] == '.') {
		v--
	}
	n := len(before) - v
	return n >= 1 && n <= 3 && bytes.HasSuffix(before[:v], []byte("HTTP/"))
}

// isStatusNumber reports whether the text before a number ends in a word
// that makes the number a status: "exit code 2", "exit status: 1",
// "exitCode=137", "killed by signal 9", "status code 503".
func isStatusNumber(before []byte) bool {
	// strings.TrimRight(before, " :=\t") by hand: it runs for every number.
	for len(before) > 0 && strings.IndexByte(" :=\t", before[len(before)-1]) >= 0 {
		before = before[:len(before)-1]
	}
	if len(before) > 24 {
		before = before[len(before)-24:]
	}
	// A fixed array, not a growing slice: this runs for every number.
	var buf [16]byte
	n := 0
	for i := len(before) - 1; i >= 0 && n < len(buf); i-- {
		c := before[i]
		switch {
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			c |= 0x20 // lower case
			// Every status word ends in one of these: most numbers
			// stop at their first letter.
			if n == 0 && c != 'e' && c != 's' && c != 'l' && c != 'p' {
				return false
			}
			buf[n] = c
			n++
		case c == ' ' || c == '_' || c == '-':
		default:
			i = -1
		}
	}
	tail := buf[:n]
	// tail is reversed: compare with reversed words.
	for _, w := range statusWordsReversed {
		if len(tail) >= len(w) && string(tail[:len(w)]) == w {
			return true
		}
	}
	return false
}

var statusWordsReversed = [...]string{"edoctixe", "edochtiwdetixe", "sutats", "edocsutats", "langis", "edocnruter", "ptth"}

// cutWord cuts s to at most n bytes without splitting a word: the tail of
// a cut word could read as a number or id on its own, and normalising the
// result again would change it.
func cutWord(s string, n int) string {
	cut := cutRunes(s, n)
	if len(cut) < len(s) && isWordByte(s[len(cut)]) {
		i := len(cut)
		for i > 0 && isWordByte(cut[i-1]) {
			i--
		}
		if i > 0 {
			cut = cut[:i]
		}
	}
	return cut
}

func isWordByte(c byte) bool { return byteClass[c]&clWord != 0 }

// replaceIPv6 replaces bracketed IPv6 addresses, but not a printed Go map
// that happens to look like one ("map[a:1:]").
func replaceIPv6(s string) string {
	locs := reIPv6.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		if strings.HasSuffix(s[:l[0]], "map") {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(phIP)
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// hasIPv6Start: "[" then up to four hex digits and ":", the start every
// reIPv6 match has; "[INFO]" and "[ 45%]" fail it without the regexp.
func hasIPv6Start(s string) bool {
	for i := strings.IndexByte(s, '['); i >= 0; {
		j := i + 1
		for j < len(s) && j-i <= 5 && isHexByte(s[j]) {
			j++
		}
		if j < len(s) && s[j] == ':' {
			return true
		}
		k := strings.IndexByte(s[i+1:], '[')
		if k < 0 {
			break
		}
		i += 1 + k
	}
	return false
}

// hexOrKeep replaces a run of hex digits only when it mixes digits and
// letters: "deadbeef" or "accede" are words, "3f909e36" is an id.
func hexOrKeep(m string) string {
	if mixesDigitsAndLetters(m) {
		return phHex
	}
	return m
}

// sortGoMap orders the entries of a printed Go map, whose iteration order
// is random from one run to the next.
func sortGoMap(m string) string {
	inner := strings.TrimSpace(m[len("map[") : len(m)-1])
	if inner == "" {
		return "map[]"
	}
	parts := strings.Fields(inner)
	sort.Strings(parts)
	return "map[" + strings.Join(parts, " ") + "]"
}

// cleanTerminal keeps what a terminal would finally show: the text after the
// last carriage return, without escape sequences or other control bytes.
func cleanTerminal(s string) string {
	// By hand: strings.TrimRight builds its cutset's table on every call.
	for len(s) > 0 && (s[len(s)-1] == '\r' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = reANSI.ReplaceAllString(s, "")
	}
	if hasControl(s) {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 && r != '\t' || r == 0x7f {
				return -1
			}
			return r
		}, s)
	}
	return s
}

// printableASCII reports whether s has only bytes from " " to "~" and tabs.
func printableASCII(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	// Eight bytes at a time: a byte below 0x20 borrows its high bit in
	// x - 0x20.., a byte above 0x7e carries into it in x + 0x01.., and
	// a byte from 0x80 has it already. A tab fails the test too, and
	// the byte loop below looks at its eight bytes again.
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		if (x-0x20*ones)&^x&highs|(x+ones|x)&highs != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// cutRunes returns at most n bytes of s without splitting a UTF-8 sequence.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Fingerprint identifies a cause: the hex SHA-256 over the category, the
// normalised message and either the test identity (see TestID) or the top
// normalised stack frames joined by newlines. Pass identity "" when there
// is neither. The fields are length-prefixed so no two inputs collide by
// shifting text from one field to the next.
func Fingerprint(category Category, normalized, identity string) string {
	// One buffer, on the stack for most messages, and one hash over it:
	// this runs for every line that is fingerprinted.
	var stack [640]byte
	b := stack[:0]
	for _, part := range [...]string{"sentinel-fp-v1", string(category), normalized, identity} {
		b = binary.LittleEndian.AppendUint64(b, uint64(len(part)))
		b = append(b, part...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// LineHash is the hash of a log line's normalised form, used for baselines:
// lines that also appear in the last successful log of a step are rarely
// the cause of its failure.
func LineHash(line string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(Normalize(line)))
	return h.Sum64()
}

// Baseline is a set of LineHash values taken from the last successful log
// of the same step. A nil Baseline is empty.
type Baseline map[uint64]struct{}

// Has reports whether the baseline contains hash h.
func (b Baseline) Has(h uint64) bool {
	_, ok := b[h]
	return ok
}
