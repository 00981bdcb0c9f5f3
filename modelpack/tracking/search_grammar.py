"""The ``search_runs`` filter grammar: a tokenizer and a recursive-descent parser.

MLflow's comparisons plus ``IN``, ``NOT IN``, ``OR`` and parentheses::

    filter     := disjunct (OR disjunct)*
    disjunct   := factor (AND factor)*                 AND binds tighter than OR
    factor     := "(" filter ")" | comparison
    comparison := key ("=" | "!=" | "<" | "<=" | ">" | ">=") value
                | key [NOT] (LIKE | ILIKE) string
                | key [NOT] IN "(" value ("," value)* ")"
                | key IS [NOT] NULL                     the run lacks (has) the key

A key is ``metrics.<k>``, ``params.<k>``, ``tags.<k>`` or an attribute (``run_id``,
``run_name``, ``status``, ``start_time``, ``end_time``, ``experiment_id``; bare or as
``attributes.<name>``); ``<k>`` may be quoted with backticks (or quotes) when it holds
spaces, dots or operator characters. Metrics, ``start_time`` and ``end_time`` compare with
numbers, everything else with quoted strings. Keywords are case-insensitive and are only
keywords outside quotes and backticks. The result is a tree of :class:`And` and
:class:`Or` over :class:`Clause` leaves; errors are :class:`~modelpack.errors.InvalidInput`
naming what was expected and the character position (counting from 1); they quote none of
the filter's text (a server may pass them on) and at most 20 characters of an unknown
``order_by`` key. Limits: :data:`MAX_CLAUSES` comparisons, :data:`MAX_DEPTH` nested
parentheses, :data:`MAX_IN_VALUES` values in all ``IN`` lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeAlias

from modelpack.errors import InvalidInput
from modelpack.tracking.search_keys import RUN_KEYS, KeyGrammar, SearchKey

MAX_CLAUSES = 100
MAX_DEPTH = 20
MAX_IN_VALUES = 1000

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?(inf|infinity|nan)$", re.I)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL"}
_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<op>!=|<=|>=|=|<|>)
    |(?P<punct>[(),])
    |(?P<string>'[^']*'|"[^"]*")
    |(?P<word>(?:[^\s'"`(),=!<>]+|`[^`]*`|(?<=\.)'[^']*'|(?<=\.)"[^"]*")+)""",
    re.VERBOSE,
)
_CACHED_LENGTH = 20_000  # longer filters are parsed each time, not kept


@dataclass(frozen=True)
class Clause:
    """One comparison: ``op`` is one of =, !=, <, <=, >, >=, LIKE, ILIKE, NOT LIKE,
    NOT ILIKE, IN, NOT IN; ``value`` a float for numeric keys, the unquoted text
    otherwise, a tuple of those for IN and NOT IN."""

    key: SearchKey
    op: str
    value: float | str | tuple[float, ...] | tuple[str, ...]


@dataclass(frozen=True)
class And:
    """Every term holds."""

    terms: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    """At least one term holds."""

    terms: tuple[Filter, ...]


Filter: TypeAlias = "Clause | And | Or"

#: a key is missing (IS NULL) or present (IS NOT NULL): any key, no value
NULL_OPS = ("IS NULL", "IS NOT NULL")
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN")


def _compares(key: SearchKey) -> str:
    """What ``key`` compares with, in the grammar's own names (the key is user text)."""
    kind = "numbers" if key.numeric else "strings"
    if key.entity == "attributes":
        return f"(attributes.{key.key} compares with {kind})"
    return f"({key.entity} compare with {kind})"


@dataclass(frozen=True)
class _Token:
    kind: str  # op, (, ), ",", string, word, keyword (text upper-cased), end
    text: str
    position: int  # counting from 1

    def shown(self) -> str:
        """What the token is, quoting only the grammar's own words: never user text."""
        if self.kind == "end":
            return "the end of the filter"
        if self.kind == "string":
            return "a quoted string"
        if self.kind == "word":
            return "a number" if _NUMBER.match(self.text) else "an unquoted word"
        return repr(self.text)


def _tokens(text: str) -> Iterator[_Token]:
    """The filter's tokens, made as the parser asks for them (a long filter past the
    clause limit is not tokenized whole)."""
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            what = "a quote that is never closed" if char in "'\"`" else f"character {char!r}"
            raise InvalidInput(
                f"search filter has {what} at position {position + 1}; strings are 'quoted', "
                "keys with special characters `backticked`"
            )
        kind, value = str(match.lastgroup), match.group()
        if kind == "punct":
            kind = value
        elif kind == "word" and value.upper() in _KEYWORDS:
            kind, value = "keyword", value.upper()
        if kind != "space":
            yield _Token(kind, value, position + 1)
        position = match.end()
    yield _Token("end", "", len(text) + 1)


class _Parser:
    def __init__(self, text: str, keys: KeyGrammar) -> None:
        self._keys = keys
        self._tokens = _tokens(text)
        self._next = next(self._tokens)
        self._clauses = 0
        self._values = 0

    def _peek(self, *keywords: str) -> bool:
        return self._next.kind == "keyword" and self._next.text in keywords

    def _take(self) -> _Token:
        token = self._next
        if token.kind != "end":
            self._next = next(self._tokens)
        return token

    def _fail(self, expected: str, token: _Token) -> InvalidInput:
        return InvalidInput(
            f"search filter: at position {token.position}, expected {expected}; got {token.shown()}"
        )

    def parse(self) -> Filter:
        tree = self._filter(0)
        if self._next.kind == ")":
            raise InvalidInput(
                f"search filter: unbalanced parentheses, the ')' at position "
                f"{self._next.position} closes no '('"
            )
        if self._next.kind != "end":
            raise self._fail("AND, OR or the end of the filter", self._next)
        return tree

    def _filter(self, depth: int) -> Filter:
        terms = [self._disjunct(depth)]
        while self._peek("OR"):
            self._take()
            terms.append(self._disjunct(depth))
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def _disjunct(self, depth: int) -> Filter:
        terms = [self._factor(depth)]
        while self._peek("AND"):
            self._take()
            terms.append(self._factor(depth))
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def _factor(self, depth: int) -> Filter:
        if self._next.kind != "(":
            return self._comparison()
        opening = self._take()
        if depth >= MAX_DEPTH:
            raise InvalidInput(
                f"search filter nests parentheses more than {MAX_DEPTH} deep "
                f"(position {opening.position}); write it with fewer levels"
            )
        tree = self._filter(depth + 1)
        if self._next.kind != ")":
            raise InvalidInput(
                f"search filter: unbalanced parentheses, expected ')' to close the '(' at "
                f"position {opening.position}; got {self._next.shown()} at position "
                f"{self._next.position}"
            )
        self._take()
        return tree

    def _comparison(self) -> Clause:
        token = self._take()
        if token.kind != "word":
            raise self._fail(f"a key such as {self._keys.example}", token)
        self._clauses += 1
        if self._clauses > MAX_CLAUSES:
            raise InvalidInput(
                f"search filter has more than {MAX_CLAUSES} comparisons (the one at position "
                f"{token.position} is one too many); narrow it down or search in steps"
            )
        try:
            key = self._keys.parse(token.text)
        except InvalidInput:
            raise InvalidInput(
                f"search filter: the key at position {token.position} is not known; use "
                f"{self._keys.hint} (`backtick` keys with special characters)"
            ) from None
        op = self._operator(key)
        if op in NULL_OPS:
            return Clause(key, op, "")
        if op in ("IN", "NOT IN"):
            return Clause(key, op, self._in_list(key))  # type: ignore[arg-type]
        return Clause(key, op, self._value(key, _compares(key)))

    def _operator(self, key: SearchKey) -> str:
        token = self._take()
        if token.kind == "op":
            op = token.text
        elif token.kind == "keyword" and token.text in ("IN", "LIKE", "ILIKE"):
            op = token.text
        elif token.kind == "keyword" and token.text == "NOT" and self._peek("IN", "LIKE", "ILIKE"):
            op = f"NOT {self._take().text}"
        elif token.kind == "keyword" and token.text == "IS":
            negate = self._peek("NOT")
            if negate:
                self._take()
            if not self._peek("NULL"):
                raise self._fail("NULL after IS (or IS NOT)", self._next)
            self._take()
            return "IS NOT NULL" if negate else "IS NULL"  # any key may be missing
        else:
            raise self._fail(
                "an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL)", token
            )
        allowed = _NUMERIC_OPS if key.numeric else _STRING_OPS
        if op not in allowed:
            kind = "numbers" if key.numeric else "strings"
            raise InvalidInput(
                f"search filter: operator {op} at position {token.position} does not apply to "
                f"{kind}; use one of {', '.join(allowed)}"
            )
        return op

    def _value(self, key: SearchKey, purpose: str) -> float | str:
        token = self._take()
        if key.numeric:
            if token.kind == "word" and _NUMBER.match(token.text):
                return float(token.text)
            raise self._fail(f"a number {purpose}, e.g. 0.5", token)
        if token.kind == "string":
            return token.text[1:-1]
        raise self._fail(f"a quoted string {purpose}, e.g. 'value'", token)

    def _in_list(self, key: SearchKey) -> tuple[float | str, ...]:
        opening = self._take()
        if opening.kind != "(":
            raise self._fail("'(' to open the IN list", opening)
        if self._next.kind == ")":
            raise InvalidInput(
                f"search filter: the IN list at position {opening.position} is empty; "
                "name at least one value, e.g. IN ('a', 'b')"
            )
        purpose = f"in the IN list {_compares(key)}"
        values: list[float | str] = []
        while True:
            self._values += 1
            if self._values > MAX_IN_VALUES:
                raise InvalidInput(
                    f"search filter has more than {MAX_IN_VALUES} values in its IN lists "
                    f"(the list at position {opening.position}); search in steps"
                )
            values.append(self._value(key, purpose))
            if self._next.kind != ",":
                break
            self._take()
        closing = self._take()
        if closing.kind != ")":
            raise self._fail("',' or ')' in the IN list", closing)
        return tuple(values)


def parse_expression(filter_string: str | None, keys: KeyGrammar = RUN_KEYS) -> Filter | None:
    """The tree of a filter string over ``keys`` (runs by default); ``None`` for an empty
    filter (everything matches)."""
    if not filter_string or not filter_string.strip():
        return None
    if len(filter_string) <= _CACHED_LENGTH:
        return _parse_cached(filter_string, keys)
    return _Parser(filter_string, keys).parse()


@lru_cache(maxsize=64)
def _parse_cached(filter_string: str, keys: KeyGrammar) -> Filter:
    # a search parses its filter twice (the client checks it, the store compiles it);
    # trees are immutable, and the cache holds at most 64 x 20 kB of filter text
    return _Parser(filter_string, keys).parse()


def clauses(tree: Filter | None) -> list[Clause]:
    """The comparisons of ``tree``, left to right."""
    if tree is None:
        return []
    if isinstance(tree, Clause):
        return [tree]
    return [clause for term in tree.terms for clause in clauses(term)]


__all__ = [
    "MAX_CLAUSES",
    "MAX_DEPTH",
    "MAX_IN_VALUES",
    "NULL_OPS",
    "And",
    "Clause",
    "Filter",
    "Or",
    "clauses",
    "parse_expression",
]
