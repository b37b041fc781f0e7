"""Six upstream shortcomings of FerretDB 1.24.2 on SQLite, fixed in its source before it is built.

The first two were measured here (docs/benchmarks.md, "FerretDB fixes") and break what the brief
assumes of a MongoDB-wire server; the third made batch reads cost a full scan, the fourth and
fifth cost CPU on every command, the sixth left every secondary index unread. So the local
server is built with these small source edits:

1. **Lookups by ``_id`` could not use the ``_id`` index.** The SQLite backend indexes
   ``_ferretdb_sjson->"_id"`` but queries ``_ferretdb_sjson->'$._id'``: SQLite sees two
   different expressions and scans the table, so every read and update by id cost time in
   proportion to the collection. It also pushed the ``_id`` condition down only when the filter
   had no other field, so ``{_id, version}`` (optimistic concurrency) read the whole collection
   in Go. The fix queries the indexed expression and pushes the ``_id`` condition down whatever
   else the filter holds; every command still applies the whole filter to what the query returns
   (as it does for the PostgreSQL backend, which already pushes multi-field filters down).
2. **Updates were not atomic across connections** (FerretDB#3040): an update reads the document
   in one transaction and writes it in another, so two connections lose one of two ``$inc`` and
   both "win" a version check. The fix serialises the read-then-write commands (update,
   findAndModify, delete) in the server; SQLite allows one writer at a time anyway.
3. **Batch reads by ids read the whole collection.** Only an ``_id`` equality was pushed down,
   so ``{_id: {$in: ids}}`` (reading or updating a batch of documents by their ids) scanned the
   table: 50 ids among 20,000 documents took 500 ms, against 40 ms for 50 separate
   ``find_one`` and 4 ms with the fix (measured 2026-11-28). The fix pushes it down as
   ``IN (?, ...)`` on the indexed expression when the ``$in`` document holds nothing else and
   every id is a string or an ObjectID (an empty list reads nothing); lists longer than 1,000
   are left to the scan, as SQLite bounds the parameters of one statement. An id the query
   returns that the rest of the filter does not match is dropped by the filter the command
   applies after, as in 1.

4. **Decoding a document cost the square of its number of fields.** ``Document.Set`` looked for
   the key among the fields before appending it, although the document already counts its keys
   in a map; decoding a stored document sets each field in turn, so a document of 3,000 fields
   cost 4.5 million string comparisons on every read and update (a fifth of the server's CPU in
   the reminder benchmark, measured 2026-11-28). The fix skips the search when the map says the
   key is not there.
5. **Every cursor and iterator was tracked with a stack trace, and a leak crashed the server.**
   ``resource.Track`` adds each to a pprof profile (which walks the stack) and sets a finalizer
   that panics if the object was never closed, in release builds too: 7% of the server's CPU
   in the reminder and sessions benchmarks, and a leak anywhere in FerretDB would stop the
   server rather than cost memory. The fix tracks them only in FerretDB's debug builds, which
   is what its leak checks are for.
6. **Secondary indexes were never read.** ``createIndexes`` made SQLite expression indexes on
   ``_ferretdb_sjson->"field"`` (the JSON text of the field's value), but queries pushed down
   nothing but ``_id``, so a find by an indexed field read the whole collection (820 ms over
   20,000 documents, measured 2026-12-07). The fix makes a non-unique index of a top-level
   field on ``_ferretdb_sjson->>"field"`` (the value as SQL reads it: TEXT, INTEGER or REAL,
   NULL when null or missing; a unique index keeps the JSON text, and with it FerretDB's rules
   of what counts as a duplicate), and pushes down, for top-level fields an index covers, an
   equality (``{f: v}``, ``{f: {$eq: v}}``), an ``$in`` (up to 500 values) or a range
   (``$gt/$gte/$lt/$lte`` with bounds all numbers, all dates, all strings or all ObjectIDs) as
   a condition that selects a superset of the matches: the values equal to or within the
   bounds of the wanted ones (numbers compare exactly across INTEGER and REAL; a boolean or a
   date reads as a number, so a few numbers come along; a number beyond 2^53 in magnitude is
   left to the scan, as a double there is stored as its shortest digits padded with zeros, which
   SQL reads as another integer: 2^60 as 1152921504606847000; so is a double below 10^-6, which
   is stored with an exponent that SQLite does not always read back exactly), NULL when null is wanted, and every
   array (TEXT from ``[`` up to the next byte), since an array matches when an element does. On
   a unique index, equalities and ``$in`` only, as the JSON texts equal to a wanted value. The
   command still applies the whole filter to what the query returns, so a document the
   condition lets through but the filter does not match is dropped as in 1. The conditions of
   several fields are written as an OR of their combinations (up to 16), so a compound index
   serves them together (``{program_id, status}``: 143 documents read, not 1,000). The
   conditions inside an ``$and`` (nested up to 4 deep) count as the top-level ones do, since a
   matching document satisfies each of them: ``{$and: [{f: {$ne: null}}, {f: "x"}]}`` reads the
   index as ``{f: "x"}`` does (it read the whole collection: 2.4 s over 10,000 documents against
   1 ms, measured 2026-12-07). Other operators, dotted paths (an array of embedded documents is not under the path's index
   expression) and NaN are left to the scan. Sorts are not pushed down (BSON's order of types
   is not SQL's); FerretDB sorts what the conditions select.

Each edit names the exact text it replaces, so a different FerretDB source fails the build
loudly instead of building something unfixed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SourceEdit:
    path: str
    old: str
    new: str
    count: int = 1


_UPDATE_SIGNATURE = (
    "func (h *Handler) {name}(connCtx context.Context, msg *wire.OpMsg) (*wire.OpMsg, error) {{\n"
)
_SERIALISED = "\tdocumentWrites.Lock()\n\tdefer documentWrites.Unlock()\n\n"


def _serialise(path: str, name: str) -> SourceEdit:
    signature = _UPDATE_SIGNATURE.format(name=name)
    return SourceEdit(path, signature, signature + _SERIALISED)


_ID_EQUALITY_ARGS = (
    "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
    "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n"
)
_ID_EQUALITY_CASE = "\t\tcase string, types.ObjectID:\n" + _ID_EQUALITY_ARGS
_ID_EQUALITY_CASE_EXPLAINED = (
    "\t\tcase string, types.ObjectID:\n\t\t\tfilterPushdown = true\n" + _ID_EQUALITY_ARGS
)
_ID_IN_CASE = (
    "\t\tcase *types.Document:\n\t\t\twhereClause, args = idInWhereClause(v.(*types.Document))\n"
)
_INDEX_COLUMN = (
    '\t\t\tcolumns[i] = fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(fields, "->"))\n'
)
_INDEXED_CONDITIONS = (
    "\twhereClause, args = andIndexedConditions(whereClause, args, params.Filter, meta)\n"
)


EDITS: tuple[SourceEdit, ...] = (
    SourceEdit(
        "internal/backends/sqlite/metadata/metadata.go",
        "IDColumn = DefaultColumn + \"->'$._id'\"",
        'IDColumn = DefaultColumn + `->"_id"`',
    ),
    SourceEdit(
        "internal/backends/sqlite/collection.go",
        '\tif params.Filter.Len() == 1 {\n\t\tv, _ := params.Filter.Get("_id")',
        '\tif params.Filter != nil {\n\t\tv, _ := params.Filter.Get("_id")',
        count=2,  # Query and Explain
    ),
    SourceEdit(  # Query
        "internal/backends/sqlite/collection.go",
        _ID_EQUALITY_CASE,
        _ID_EQUALITY_CASE + _ID_IN_CASE,
    ),
    SourceEdit(  # Explain, which also reports the pushdown
        "internal/backends/sqlite/collection.go",
        _ID_EQUALITY_CASE_EXPLAINED,
        _ID_EQUALITY_CASE_EXPLAINED + _ID_IN_CASE + '\t\t\tfilterPushdown = whereClause != ""\n',
    ),
    SourceEdit(  # Query
        "internal/backends/sqlite/collection.go",
        "\tq += whereClause\n",
        _INDEXED_CONDITIONS + "\tq += whereClause\n",
    ),
    SourceEdit(  # Explain
        "internal/backends/sqlite/collection.go",
        "\torderByClause := prepareOrderByClause(params.Sort)\n",
        _INDEXED_CONDITIONS
        + '\tfilterPushdown = whereClause != ""\n\n'
        + "\torderByClause := prepareOrderByClause(params.Sort)\n",
    ),
    SourceEdit(  # a non-unique index holds the values as SQL reads them, in SQL's order
        "internal/backends/sqlite/metadata/registry.go",
        _INDEX_COLUMN,
        _INDEX_COLUMN
        + "\t\t\tif !index.Unique && len(fields) == 1 {\n"
        + '\t\t\t\tcolumns[i] = fmt.Sprintf("%s->>%s", DefaultColumn, fields[0])\n'
        + "\t\t\t}\n",
    ),
    _serialise("internal/handler/msg_update.go", "MsgUpdate"),
    _serialise("internal/handler/msg_findandmodify.go", "MsgFindAndModify"),
    _serialise("internal/handler/msg_delete.go", "MsgDelete"),
    SourceEdit(
        "internal/types/document.go",
        "\tfor i, f := range d.fields {\n\t\tif f.key == key {\n\t\t\td.fields[i].value = value\n"
        "\t\t\treturn\n\t\t}\n\t}\n",
        # A new key (``keys`` counts every field's key) is appended without the search.
        "\tif d.keys[key] > 0 {\n"
        "\t\tfor i, f := range d.fields {\n\t\t\tif f.key == key {\n"
        "\t\t\t\td.fields[i].value = value\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}\n",
    ),
    *(
        SourceEdit(
            "internal/util/resource/resource.go",
            f"func {name}(obj any, token *Token) {{\n\tcheckArgs(obj, token)\n",
            f"func {name}(obj any, token *Token) {{\n\tcheckArgs(obj, token)\n\n"
            "\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n",
        )
        for name in ("Track", "Untrack")
    ),
)

NEW_FILES: dict[str, str] = {
    "internal/handler/write_lock.go": (
        "package handler\n\n"
        'import "sync"\n\n'
        "// documentWrites serialises the commands that read documents and write them back.\n"
        "var documentWrites sync.Mutex\n"
    ),
    "internal/backends/sqlite/id_in.go": """package sqlite

import (
	"fmt"
	"strings"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// maxIDInPushdown bounds the ids of one pushed-down $in: SQLite bounds a statement's parameters.
const maxIDInPushdown = 1000

// idInWhereClause pushes down an _id condition {$in: [...]} of strings and ObjectIDs.
//
// It returns an empty clause for any other condition or a longer list, so the query reads the
// whole collection as before; the command filters what the query returns either way.
func idInWhereClause(cond *types.Document) (string, []any) {
	if cond.Len() != 1 || !cond.Has("$in") {
		return "", nil
	}

	list, ok := must.NotFail(cond.Get("$in")).(*types.Array)
	if !ok || list.Len() > maxIDInPushdown {
		return "", nil
	}

	if list.Len() == 0 {
		return ` WHERE 0`, nil
	}

	placeholders := make([]string, list.Len())
	args := make([]any, list.Len())

	for i := range list.Len() {
		id := must.NotFail(list.Get(i))

		switch id.(type) {
		case string, types.ObjectID:
		default:
			return "", nil
		}

		placeholders[i] = "?"
		args[i] = string(must.NotFail(sjson.MarshalSingleValue(id)))
	}

	return fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, strings.Join(placeholders, ", ")), args
}
""",
    "internal/backends/sqlite/index_pushdown.go": """package sqlite

import (
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// maxIndexedIn bounds the values of one pushed-down $in: SQLite bounds a statement's parameters.
const maxIndexedIn = 500

// maxExactInteger is the largest integer every double up to which prints as its exact digits.
const maxExactInteger = 1 << 53

// minPlainDouble is the smallest magnitude Go's JSON prints without an exponent.
const minPlainDouble = 1e-6

// plainField matches the field names whose index expression this file writes the same way.
var plainField = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// andIndexedConditions adds to a WHERE clause the equality, $in and range conditions of the
// filter on top-level fields that an index of the collection covers, so SQLite reads them from
// that index.
//
// Each condition selects a superset of the documents the filter's condition matches (the
// command applies the whole filter to what the query returns): the stored values equal to one
// of the wanted ones, a missing field when null is wanted, and every array (an array matches
// when an element does). Any other condition is left to the command's filter.
func andIndexedConditions(where string, args []any, filter *types.Document, meta *metadata.Collection) (string, []any) {
	if filter == nil || meta == nil {
		return where, args
	}

	// A non-unique index holds the field's value as SQL reads it (->>); a unique one, its JSON
	// text (->), which keeps FerretDB's own uniqueness rules (see the edit of indexesCreate).
	typed := make(map[string]bool)
	indexed := make(map[string]bool)

	for _, index := range meta.Settings.Indexes {
		for _, key := range index.Key {
			indexed[key.Field] = true
			typed[key.Field] = typed[key.Field] || !index.Unique
		}
	}

	var fields [][]alternative

	combinations := 1

	for _, c := range conjuncts(filter, 0) {
		field := c.field
		if field == "_id" || !indexed[field] || !plainField.MatchString(field) {
			continue
		}

		var alts []alternative
		if typed[field] {
			alts = typedAlternatives(field, c.value)
		} else {
			alts = indexedAlternatives(field, c.value)
		}
		if alts == nil {
			continue
		}

		fields = append(fields, alts)
		combinations *= len(alts)
	}

	if len(fields) == 0 {
		return where, args
	}

	var cond alternative
	if combinations <= maxCombinations {
		cond = orOfAnds(fields)
	} else {
		cond = andOfOrs(fields)
	}

	if where == "" {
		return ` WHERE ` + cond.sql, append(args, cond.args...)
	}

	return where + ` AND ` + cond.sql, append(args, cond.args...)
}

// maxAndDepth bounds how deep conjuncts looks into nested $and.
const maxAndDepth = 4

// conjunct is a top-level field's condition that every document the filter matches satisfies.
type conjunct struct {
	field string
	value any
}

// conjuncts returns the filter's conditions on top-level fields and, recursively, those of the
// documents of its $and: a document the filter matches satisfies each of them, so each one's
// superset condition can be ANDed with the others'. A key the filter holds twice, an $and that
// is not an array of documents, or one nested too deep adds nothing (the command's filter
// judges them).
func conjuncts(filter *types.Document, depth int) []conjunct {
	seen := make(map[string]int)
	for _, field := range filter.Keys() {
		seen[field]++
	}

	var found []conjunct

	for _, field := range filter.Keys() {
		if seen[field] != 1 {
			continue
		}

		value := must.NotFail(filter.Get(field))
		if field != "$and" {
			found = append(found, conjunct{field, value})
			continue
		}

		terms, ok := value.(*types.Array)
		if !ok || depth >= maxAndDepth {
			continue
		}

		for i := range terms.Len() {
			if term, ok := must.NotFail(terms.Get(i)).(*types.Document); ok {
				found = append(found, conjuncts(term, depth+1)...)
			}
		}
	}

	return found
}

// maxCombinations bounds the terms of an OR of ANDs: beyond it, the fields' ORs are ANDed.
const maxCombinations = 16

// alternative is one SQL condition, with its arguments, that some matching documents satisfy.
type alternative struct {
	sql  string
	args []any
}

// orOfAnds combines the fields' alternatives as an OR of ANDs, one AND per combination: the same
// condition as andOfOrs, but each term can use a compound index on several of the fields.
func orOfAnds(fields [][]alternative) alternative {
	terms := []alternative{{}}

	for _, alts := range fields {
		next := make([]alternative, 0, len(terms)*len(alts))

		for _, term := range terms {
			for _, alt := range alts {
				sql := alt.sql
				if term.sql != "" {
					sql = term.sql + ` AND ` + alt.sql
				}

				next = append(next, alternative{sql, append(append([]any{}, term.args...), alt.args...)})
			}
		}

		terms = next
	}

	return joined(terms, " OR ")
}

// andOfOrs combines the fields' alternatives as an AND of each field's OR.
func andOfOrs(fields [][]alternative) alternative {
	ors := make([]alternative, len(fields))
	for i, alts := range fields {
		ors[i] = joined(alts, " OR ")
	}

	return joined(ors, " AND ")
}

// joined returns the conditions joined by the operator, in parentheses.
func joined(conds []alternative, operator string) alternative {
	sqls := make([]string, len(conds))
	var args []any

	for i, c := range conds {
		sqls[i] = `(` + c.sql + `)`
		args = append(args, c.args...)
	}

	return alternative{`(` + strings.Join(sqls, operator) + `)`, args}
}

// indexedAlternatives returns the conditions on the field's index one of which every document
// the field's filter value matches satisfies, or nil if it cannot tell.
func indexedAlternatives(field string, value any) []alternative {
	values, ok := wantedValues(value)
	if !ok {
		return nil
	}

	if len(values) == 0 {
		return []alternative{{sql: `0`}}
	}

	var texts []string
	var missing bool

	for _, v := range values {
		t, ok := storedTexts(v)
		if !ok {
			return nil
		}

		if _, null := v.(types.NullType); null {
			missing = true
		}

		texts = append(texts, t...)
	}

	// The index holds the JSON text of the field's value: SQL NULL when it is missing.
	column := fmt.Sprintf("%s->%q", metadata.DefaultColumn, field)

	// The wanted texts go through the same JSON rendering as the stored ones.
	placeholders := make([]string, len(texts))
	args := make([]any, len(texts))

	for i, t := range texts {
		placeholders[i] = `(? -> '$')`
		args[i] = t
	}

	alts := []alternative{{fmt.Sprintf(`%s IN (%s)`, column, strings.Join(placeholders, ", ")), args}}
	if missing {
		alts = append(alts, alternative{sql: column + ` IS NULL`})
	}

	// Every array, which is the JSON text from '[' up to, not including, '\\' (the next byte).
	alts = append(alts, alternative{sql: fmt.Sprintf(`%s >= '[' AND %s < '\\'`, column, column)})

	return alts
}

// wantedValues returns the values an equality or $in wants, or false for any other condition.
func wantedValues(value any) ([]any, bool) {
	cond, ok := value.(*types.Document)
	if !ok {
		return []any{value}, true
	}

	if cond.Len() != 1 {
		return nil, false
	}

	switch op := cond.Keys()[0]; op {
	case "$eq":
		return []any{must.NotFail(cond.Get(op))}, true
	case "$in":
		list, ok := must.NotFail(cond.Get(op)).(*types.Array)
		if !ok || list.Len() > maxIndexedIn {
			return nil, false
		}

		values := make([]any, list.Len())
		for i := range list.Len() {
			values[i] = must.NotFail(list.Get(i))
		}

		return values, true
	default:
		return nil, false
	}
}

// typedAlternatives is indexedAlternatives for an index of the values as SQL reads them: a
// string (and an ObjectID, as its hex) as TEXT, a number as INTEGER or REAL (compared exactly
// across the two), a boolean as 1 or 0 and a date as its milliseconds (so they also select
// numbers), null and a missing field as NULL, an array or document as its JSON TEXT. It also
// serves ranges: SQLite orders NULL before numbers before TEXT, and TEXT bytewise, as MongoDB
// orders strings.
func typedAlternatives(field string, value any) []alternative {
	column := fmt.Sprintf("%s->>%q", metadata.DefaultColumn, field)

	// Every array, which is the TEXT from '[' up to, not including, '\\' (the next byte).
	arrays := alternative{sql: fmt.Sprintf(`%s >= '[' AND %s < '\\'`, column, column)}

	if cond, ok := value.(*types.Document); ok && isRange(cond) {
		bounds := rangeAlternative(column, cond)
		if bounds == nil {
			return nil
		}

		return []alternative{*bounds, arrays}
	}

	values, ok := wantedValues(value)
	if !ok {
		return nil
	}

	if len(values) == 0 {
		return []alternative{{sql: `0`}}
	}

	var args []any
	var missing bool

	for _, v := range values {
		if _, null := v.(types.NullType); null {
			missing = true
			continue
		}

		arg, ok := sqlValue(v)
		if !ok {
			return nil
		}

		args = append(args, arg)
	}

	var alts []alternative

	if len(args) > 0 {
		placeholders := strings.Repeat(", ?", len(args))[2:]
		alts = append(alts, alternative{fmt.Sprintf(`%s IN (%s)`, column, placeholders), args})
	}

	if missing {
		alts = append(alts, alternative{sql: column + ` IS NULL`})
	}

	return append(alts, arrays)
}

// isRange tells whether the condition holds range operators only.
func isRange(cond *types.Document) bool {
	for _, op := range cond.Keys() {
		switch op {
		case "$gt", "$gte", "$lt", "$lte":
		default:
			return false
		}
	}

	return cond.Len() > 0
}

// rangeAlternative returns the bounds of a range whose bounds are all numbers, all dates, all
// strings or all ObjectIDs (MongoDB compares a bound with values of its own kind only), or nil.
func rangeAlternative(column string, cond *types.Document) *alternative {
	var terms []string
	var args []any
	var kind string
	var lower, upper bool

	for _, op := range cond.Keys() {
		bound := must.NotFail(cond.Get(op))

		arg, ok := sqlValue(bound)
		if !ok {
			return nil
		}

		var k string

		switch bound.(type) {
		case int32, int64, float64:
			k = "number"
		case time.Time:
			k = "date"
		case string, types.ObjectID:
			k = "text"
		default:
			return nil
		}

		if kind != "" && k != kind {
			return nil
		}

		kind = k
		sign := map[string]string{"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
		lower = lower || sign[0] == '>'
		upper = upper || sign[0] == '<'
		terms = append(terms, fmt.Sprintf(`%s %s ?`, column, sign))
		args = append(args, arg)
	}

	// Numbers and dates sort before any TEXT, TEXT after NULL and numbers: the open side is
	// closed at the edge of the bound's kind.
	if kind == "text" && !lower {
		terms = append(terms, column+` >= ''`)
	}

	if kind != "text" && !upper {
		terms = append(terms, column+` < ''`)
	}

	return &alternative{strings.Join(terms, " AND "), args}
}

// sqlValue returns the value as the typed index holds it, or false if it cannot tell.
//
// A number beyond 2^53 in magnitude is left to the scan: FerretDB stores a double as Go's JSON
// prints it, its shortest digits padded with zeros (2^60 as 1152921504606847000), which SQL reads
// as another integer, so neither it nor the long it equals would be found by its exact value.
// So is a double below 10^-6: Go prints it with an exponent, which SQLite does not always read
// back as the same double (2.458481292004392e-198, measured). Stored there, such numbers still
// sit on the same side of every bound that is pushed down.
func sqlValue(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return v, !strings.ContainsRune(v, 0)
	case types.ObjectID:
		return hex.EncodeToString(v[:]), true
	case bool:
		if v {
			return int64(1), true
		}

		return int64(0), true
	case time.Time:
		return v.UnixMilli(), true
	case int32:
		return int64(v), true
	case int64:
		return v, v <= maxExactInteger && v >= -maxExactInteger
	case float64:
		a := math.Abs(v)
		return v, v == 0 || (a >= minPlainDouble && a <= maxExactInteger) // false for NaN too
	default:
		return nil, false
	}
}

// storedTexts returns the JSON texts FerretDB stores for the values a filter value equals.
//
// A number equals numbers of the other numeric types: each is stored as its digits, and a
// double as Go prints it (exact digits for an integer up to 2^53, and "-0" for negative zero).
// Larger integers, NaN and infinities, and other types, are not pushed down.
func storedTexts(v any) ([]string, bool) {
	switch v := v.(type) {
	case string, types.ObjectID, bool, time.Time, types.NullType:
		return []string{string(must.NotFail(sjson.MarshalSingleValue(v)))}, true
	case int32:
		return integerTexts(float64(v)), true
	case int64:
		if v > maxExactInteger || v < -maxExactInteger {
			return nil, false
		}

		return integerTexts(float64(v)), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}

		if v != math.Trunc(v) {
			return []string{string(must.NotFail(sjson.MarshalSingleValue(v)))}, true
		}

		if v > maxExactInteger || v < -maxExactInteger {
			return nil, false
		}

		return integerTexts(v), true
	default:
		return nil, false
	}
}

// integerTexts returns the stored texts of the numbers equal to an integer.
func integerTexts(v float64) []string {
	if v == 0 {
		return []string{"0", "-0"}
	}

	return []string{strconv.FormatInt(int64(v), 10)}
}
""",
}


def fingerprint() -> str:
    """Short digest of the edits, so a binary built with other edits is never reused."""
    digest = hashlib.sha256()
    for edit in EDITS:
        digest.update(f"{edit.path}\0{edit.old}\0{edit.new}\0{edit.count}\0".encode())
    for path, text in sorted(NEW_FILES.items()):
        digest.update(f"{path}\0{text}\0".encode())
    return digest.hexdigest()[:10]


def apply(source: Path) -> None:
    """Edit a writable copy of the FerretDB module source in place."""
    for edit in EDITS:
        file = source / edit.path
        text = file.read_text()
        found = text.count(edit.old)
        if found != edit.count:
            raise RuntimeError(
                f"FerretDB source differs from the one these fixes were written for: "
                f"{edit.path} holds {found} copies of the text to replace, expected {edit.count}"
            )
        file.write_text(text.replace(edit.old, edit.new))
    for path, text in NEW_FILES.items():
        (source / path).write_text(text)
