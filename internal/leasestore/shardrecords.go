/*
Copyright 2026 The nebula-resource Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package leasestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nebula-io/nebula-resource/pkg/leaseapi"
)

// The records of a shard, the value of AnnotationLeases. Every group write
// carries all of them, so they are kept short: a JSON array of the format
// version, the shard's bindings, then one array per record, members in
// order:
//
//	[2,["team/app","team/ci"],
//	 ["m0","<lease id>",0,"<holder>","<partition>","<credential version>",1795953600.25,1795953660.25,"1m0s"],
//	 ["m3","<lease id>",1,"","","",1795953601,1795953661,"1m0s",1]]
//
// that is member, lease id, index of its binding, holder, partition,
// credential version, acquired and expires (unix seconds, exact to the
// nanosecond), duration, and a trailing 1 when the slot awaits recycling.
// Pool and slot are the shard's, so no record repeats them. The first
// version (recordsV1, still read: shards written before stay readable and
// are rewritten in this format by their next write) was a JSON object of
// records by member with named fields and RFC 3339 times, about twice as
// long. A manager of that version refuses a shard in this format (it does
// not decode) rather than misread it: after a downgrade, grants on such a
// shard fail until its object is deleted.
const recordsVersion = 2

// encodeRecords encodes recs (by member) in the order of members.
func encodeRecords(recs map[string]leaseapi.Record, members []string) string {
	b := make([]byte, 0, 64+128*len(members))
	b = append(b, '[')
	b = strconv.AppendInt(b, recordsVersion, 10)
	b = append(b, ",["...)
	bindings := map[string]int{}
	for _, m := range members {
		r := recs[m]
		if _, ok := bindings[r.Binding]; !ok {
			if len(bindings) > 0 {
				b = append(b, ',')
			}
			bindings[r.Binding] = len(bindings)
			b = appendString(b, r.Binding)
		}
	}
	b = append(b, ']')
	for _, m := range members {
		r := recs[m]
		b = append(b, ",["...)
		b = appendString(b, m)
		b = append(b, ',')
		b = appendString(b, r.ID)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(bindings[r.Binding]), 10)
		for _, f := range [...]string{r.Holder, r.Partition, r.CredentialVersion} {
			b = append(b, ',')
			b = appendString(b, f)
		}
		b = append(b, ',')
		b = appendTime(b, r.AcquiredAt)
		b = append(b, ',')
		b = appendTime(b, r.ExpiresAt)
		b = append(b, ',')
		b = appendString(b, r.Duration.String())
		if r.NeedsRecycle {
			b = append(b, ",1"...)
		}
		b = append(b, ']')
	}
	b = append(b, ']')
	return string(b)
}

// appendString appends s as a JSON string: printable ASCII as it is, the
// rest through encoding/json (without its HTML escaping: a holder's '<'
// stays one byte).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime appends t as unix seconds with up to nine decimals: whole
// seconds (Unix) and the nanoseconds past them, so it reads back exactly.
func appendTime(b []byte, t time.Time) []byte {
	b = strconv.AppendInt(b, t.Unix(), 10)
	if ns := t.Nanosecond(); ns != 0 {
		frac := strconv.AppendInt(nil, int64(1e9+ns), 10)[1:] // nine digits
		b = append(b, '.')
		b = append(b, bytes.TrimRight(frac, "0")...)
	}
	return b
}

// parseTime reads appendTime's encoding, in UTC.
func parseTime(n json.Number) (time.Time, error) {
	whole, frac, _ := strings.Cut(string(n), ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || len(frac) > 9 {
		return time.Time{}, fmt.Errorf("time %q: want unix seconds with up to nine decimals", n)
	}
	var ns int64
	if frac != "" {
		if ns, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil || ns < 0 {
			return time.Time{}, fmt.Errorf("time %q: want unix seconds with up to nine decimals", n)
		}
	}
	return time.Unix(sec, ns).UTC(), nil
}

// decodeRecords reads the records of a shard of id (either format) by
// member, each with version as its Version. The records that decode are
// returned even when others do not (with the error).
func decodeRecords(v string, id shardID, version string) (map[string]leaseapi.Record, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return map[string]leaseapi.Record{}, nil
	case v[0] == '[':
		return decodeRecordsV2(v, id, version)
	default:
		return decodeRecordsV1(v, id, version)
	}
}

func decodeRecordsV2(v string, id shardID, version string) (map[string]leaseapi.Record, error) {
	d := json.NewDecoder(strings.NewReader(v))
	d.UseNumber()
	var top []json.RawMessage
	if err := d.Decode(&top); err != nil {
		return nil, err
	}
	var format int
	var bindings []string
	if len(top) < 2 || json.Unmarshal(top[0], &format) != nil || format != recordsVersion || json.Unmarshal(top[1], &bindings) != nil {
		return nil, fmt.Errorf("want [%d, [bindings], records...]", recordsVersion)
	}
	recs := map[string]leaseapi.Record{}
	var errs []error
	for i, raw := range top[2:] {
		r, err := decodeRecordV2(raw, bindings, id, version)
		if err != nil {
			errs = append(errs, fmt.Errorf("record %d (%s): %w", i, r.Member, err))
			continue
		}
		recs[r.Member] = r
	}
	return recs, errors.Join(errs...)
}

func decodeRecordV2(raw json.RawMessage, bindings []string, id shardID, version string) (leaseapi.Record, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var f []any
	if err := d.Decode(&f); err != nil {
		return leaseapi.Record{}, err
	}
	if len(f) != 9 && len(f) != 10 {
		return leaseapi.Record{}, fmt.Errorf("%d fields, want 9 or 10", len(f))
	}
	str := func(i int) string { s, _ := f[i].(string); return s }
	num := func(i int) json.Number { n, _ := f[i].(json.Number); return n }
	r := leaseapi.Record{
		ID: str(1), Pool: id.pool, Member: str(0), Slot: id.slot, Holder: str(3), Partition: str(4), CredentialVersion: str(5),
		Version: version,
	}
	b, err := strconv.Atoi(string(num(2)))
	if err != nil || b < 0 || b >= len(bindings) {
		return r, fmt.Errorf("binding index %v of %d", f[2], len(bindings))
	}
	r.Binding = bindings[b]
	var errs []error
	r.AcquiredAt, err = parseTime(num(6))
	errs = append(errs, err)
	r.ExpiresAt, err = parseTime(num(7))
	errs = append(errs, err)
	r.Duration, err = time.ParseDuration(str(8))
	errs = append(errs, err)
	if len(f) == 10 {
		r.NeedsRecycle = num(9) == "1"
	}
	if r.Member == "" || r.ID == "" || r.Binding == "" {
		errs = append(errs, errors.New("no member, id or binding"))
	}
	return r, errors.Join(errs...)
}

// recordsV1 is a record in the first format: a JSON object of these by
// member.
type recordsV1 struct {
	ID                string    `json:"id"`
	Binding           string    `json:"binding"`
	Holder            string    `json:"holder,omitempty"`
	Partition         string    `json:"partition,omitempty"`
	CredentialVersion string    `json:"credentialVersion,omitempty"`
	AcquiredAt        time.Time `json:"acquiredAt"`
	ExpiresAt         time.Time `json:"expiresAt"`
	Duration          string    `json:"duration"`
	Recycle           bool      `json:"recycle,omitempty"`
}

func decodeRecordsV1(v string, id shardID, version string) (map[string]leaseapi.Record, error) {
	var entries map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &entries); err != nil {
		return nil, err
	}
	recs := map[string]leaseapi.Record{}
	var errs []error
	for member, raw := range entries {
		var e recordsV1
		if err := json.Unmarshal(raw, &e); err != nil {
			errs = append(errs, fmt.Errorf("member %s: %w", member, err))
			continue
		}
		d, err := time.ParseDuration(e.Duration)
		if err != nil || e.ID == "" || e.Binding == "" {
			errs = append(errs, fmt.Errorf("member %s: no id, binding or duration (%v)", member, err))
			continue
		}
		recs[member] = leaseapi.Record{
			ID: e.ID, Pool: id.pool, Binding: e.Binding, Member: member, Slot: id.slot, Partition: e.Partition,
			CredentialVersion: e.CredentialVersion, Holder: e.Holder, AcquiredAt: e.AcquiredAt, ExpiresAt: e.ExpiresAt,
			Duration: d, NeedsRecycle: e.Recycle, Version: version,
		}
	}
	return recs, errors.Join(errs...)
}
