package triage

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// templateMagic starts an encoded TemplateMiner; the byte after it is the
// encoding's version.
const templateMagic = "sentinel-templates"

const templateVersion = 1

// MarshalBinary encodes the miner's options and templates, in ID order,
// so that a miner decoded from it fingerprints as this one does. The
// encoding is versioned: "sentinel-templates", version 1, then uvarints
// and length-prefixed strings. The match cache is not part of it.
func (m *TemplateMiner) MarshalBinary() ([]byte, error) {
	var all []*templateCluster
	size := 0
	for _, b := range m.buckets {
		for _, c := range b {
			all = append(all, c)
			size += len(c.text) + len(c.cat) + 16
		}
	}
	sortClustersByID(all)
	buf := make([]byte, 0, len(templateMagic)+32+size)
	buf = append(buf, templateMagic...)
	buf = append(buf, templateVersion)
	buf = binary.AppendUvarint(buf, math.Float64bits(m.opts.Similarity))
	buf = binary.AppendUvarint(buf, uint64(m.opts.Siblings))
	buf = binary.AppendUvarint(buf, uint64(m.opts.MaxClusters))
	buf = binary.AppendUvarint(buf, uint64(m.opts.MaxClustersPerShape))
	buf = binary.AppendUvarint(buf, uint64(m.nextID))
	buf = binary.AppendUvarint(buf, uint64(len(all)))
	for _, c := range all {
		buf = binary.AppendUvarint(buf, uint64(c.id))
		buf = binary.AppendUvarint(buf, c.count)
		buf = binary.AppendUvarint(buf, uint64(len(c.cat)))
		buf = append(buf, c.cat...)
		buf = binary.AppendUvarint(buf, uint64(len(c.text)))
		buf = append(buf, c.text...)
	}
	return buf, nil
}

// UnmarshalBinary replaces the miner's state with an encoded one.
func (m *TemplateMiner) UnmarshalBinary(data []byte) error {
	if !strings.HasPrefix(string(data), templateMagic) || len(data) <= len(templateMagic) {
		return errors.New("templates: not an encoded template miner")
	}
	if v := data[len(templateMagic)]; v != templateVersion {
		return fmt.Errorf("templates: encoding version %d, want %d", v, templateVersion)
	}
	d := decoder{data: data[len(templateMagic)+1:]}
	var opts MinerOptions
	opts.Similarity = math.Float64frombits(d.uvarint())
	opts.Siblings = int(d.uvarint())
	opts.MaxClusters = int(d.uvarint())
	opts.MaxClustersPerShape = int(d.uvarint())
	nextID := d.uvarint()
	n := d.uvarint()
	if d.err != nil {
		return d.err
	}
	if n > uint64(len(d.data)) || nextID > math.MaxUint32 {
		return errors.New("templates: corrupt header")
	}
	fresh := NewTemplateMiner(opts)
	fresh.nextID = uint32(nextID)
	seen := map[uint32]bool{}
	for range n {
		id, count := d.uvarint(), d.uvarint()
		cat, text := d.str(), d.str()
		if d.err != nil {
			return d.err
		}
		if id == 0 || id >= nextID || seen[uint32(id)] {
			return fmt.Errorf("templates: bad template id %d", id)
		}
		seen[uint32(id)] = true
		toks := minerTokens(text)
		if len(toks) == 0 || strings.Join(toks, " ") != text {
			return fmt.Errorf("templates: template %d is not a token sequence", id)
		}
		c := newCluster(uint32(id), Category(cat), toks, count)
		shape := shapeKey{c.cat, len(toks)}
		fresh.buckets[shape] = append(fresh.buckets[shape], c)
		fresh.live++
	}
	if len(d.data) != 0 {
		return errors.New("templates: trailing bytes")
	}
	*m = *fresh
	return nil
}

type decoder struct {
	data []byte
	err  error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.data)
	if n <= 0 {
		d.err = errors.New("templates: truncated")
		return 0
	}
	d.data = d.data[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.data)) {
		d.err = errors.New("templates: truncated")
		return ""
	}
	s := string(d.data[:n])
	d.data = d.data[n:]
	return s
}

func sortClustersByID(cs []*templateCluster) {
	slices.SortFunc(cs, func(a, b *templateCluster) int { return cmp.Compare(a.id, b.id) })
}
