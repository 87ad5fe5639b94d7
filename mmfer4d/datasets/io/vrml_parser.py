# Copyright (c) mmfer4d contributors. All rights reserved.
"""Tokenizer and recursive-descent parser of the VRML97 scene graph.

Follows ISO/IEC 14772-1:1997 clause 5 (lexical conventions) and Annex A
(grammar)::

    vrmlScene     ::= statement*
    statement     ::= nodeStatement | protoStatement | routeStatement
    nodeStatement ::= node | DEF nodeNameId node | USE nodeNameId
    node          ::= nodeTypeId { nodeBodyElement* }
    nodeBodyElement ::= fieldId fieldValue | fieldId IS fieldId
                      | routeStatement | protoStatement
                      | (Script) interface declarations
    fieldValue    ::= sfValue | [ sfValue* ] | nodeStatement | NULL

Commas are white space; ``#`` starts a comment that runs to the end of its
line, except inside a string; strings are ``"..."`` with ``\\"`` and
``\\\\`` escapes.

The parser knows no node types: every node body is read by the same rules,
so a node or field it is not asked about (``Viewpoint``, ``NavigationInfo``,
a ``PROTO`` instance, ``normal Normal { ... }``) is walked past without
losing its place, and a ``DEF`` inside it still registers its name for a
later ``USE``. Only the fields named in ``keep`` are stored.

Number lists (``point [ ... ]``, ``coordIndex [ ... ]``), which make up
nearly all of a face scan, are not tokenised in Python: at a ``[`` followed
by a number the parser jumps to the closing ``]`` (stepping over comments)
and stores the span, which :func:`~._text.parse_numbers` later hands to
NumPy in one call.
"""
import re
from typing import Dict, FrozenSet, List, Optional

from ._text import line_of
from .errors import MeshReadError

NUMBER_START = frozenset('0123456789+-.')
_SKIP = re.compile(r'(?:[\s,]+|#[^\n\r]*)*')
_WORD = re.compile(r'[^\s,\[\]{}#"]+')
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_ESCAPE = re.compile(r'\\(.)', re.S)
_EOL = re.compile(r'[\n\r]')
_BRACKET = re.compile(r'[\[\]{}"#]')
_CLOSE = {'[': ']', '{': '}'}
_INTERFACE_EVENT = frozenset(('eventIn', 'eventOut', 'inputOnly',
                              'outputOnly'))
_INTERFACE_FIELD = frozenset(('field', 'exposedField', 'initializeOnly',
                              'inputOutput'))


class NumberSpan:
    """Numbers left as text: ``text[start:end]``, parsed on demand.

    Args:
        start (int): First character.
        end (int): One past the last character.
    """

    __slots__ = ('start', 'end')

    def __init__(self, start: int, end: int):
        self.start, self.end = start, end

    def __repr__(self) -> str:
        return f'NumberSpan({self.start}, {self.end})'


class Ident(str):
    """A bare identifier given as a field value (not VRML97; tolerated)."""


class Node:
    """One node of the scene graph.

    Args:
        type (str): The node type (``'Transform'``, ``'Shape'``...).
        pos (int): Position of its first token in the text.
        name (str, optional): Its ``DEF`` name. Defaults to None.

    Attributes:
        fields (dict): The kept fields: name to value, where a value is a
            :class:`NumberSpan`, ``str``, ``bool``, :class:`Node`, ``None``
            (``NULL``), :class:`Ident` or a ``list`` of those.
    """

    __slots__ = ('type', 'fields', 'pos', 'name')

    def __init__(self, type: str, pos: int, name: Optional[str] = None):
        self.type, self.pos, self.name = type, pos, name
        self.fields: Dict[str, object] = {}

    def __repr__(self) -> str:
        name = f'DEF {self.name} ' if self.name else ''
        return f'<{name}{self.type} fields={sorted(self.fields)}>'


_NOTHING = object()  # a ROUTE or PROTO statement: no node


class VRMLParser:
    """Parse the text of a ``.wrl`` file into its top-level nodes.

    Args:
        path (str): The file, for error messages.
        text (str): Its whole text (header line included).
        keep (dict[str, frozenset[str]]): Per node type, the fields to
            store; all others are parsed and dropped.
        max_tokens (int): Tokens outside number lists before giving up.
        max_depth (int): Node nesting before giving up.
    """

    def __init__(self, path: str, text: str,
                 keep: Dict[str, FrozenSet[str]], max_tokens: int,
                 max_depth: int):
        self.path, self.text, self.keep = path, text, keep
        self.max_tokens, self.max_depth = max_tokens, max_depth
        self.pos = 0
        self.tokens = 0
        self.defs: Dict[str, Node] = {}

    # Errors and bounds ---------------------------------------------------
    def error(self, reason: str, pos: Optional[int] = None):
        pos = self.pos if pos is None else pos
        return MeshReadError(self.path, reason, line=line_of(self.text, pos))

    def _tick(self):
        self.tokens += 1
        if self.tokens > self.max_tokens:
            raise self.error(
                f'more than {self.max_tokens} tokens outside number lists '
                '(ReadLimits.max_tokens, MMFER4D_READ_MAX_TOKENS): not a '
                'face scan')

    # Lexer ----------------------------------------------------------------
    def _peek(self) -> str:
        """Skip white space, commas and comments; the next character."""
        self.pos = _SKIP.match(self.text, self.pos).end()
        return self.text[self.pos:self.pos + 1]

    def _word(self) -> str:
        """The next word (identifier, keyword or number); ``_peek`` first."""
        match = _WORD.match(self.text, self.pos)
        if match is None:
            raise self.error('expected a name')
        self.pos = match.end()
        self._tick()
        return match.group()

    def _next_word_is(self, word: str) -> bool:
        self._peek()
        match = _WORD.match(self.text, self.pos)
        return match is not None and match.group() == word

    def _name(self, keyword: str) -> str:
        char = self._peek()
        if not char or char in '[]{}"' or char in NUMBER_START:
            raise self.error(f'{keyword} must be followed by a node name')
        return self._word()

    def _string(self) -> str:
        match = _STRING.match(self.text, self.pos)
        if match is None:
            raise self.error('string not closed by \'"\' (truncated file?)')
        self.pos = match.end()
        self._tick()
        return _ESCAPE.sub(r'\1', match.group(1))

    def _skip_balanced(self, open_char: str):
        """Skip a ``[ ... ]`` or ``{ ... }`` group whose opener is next."""
        start = self.pos
        stack = [_CLOSE[open_char]]
        self.pos += 1
        while stack:
            self._tick()
            match = _BRACKET.search(self.text, self.pos)
            if match is None:
                raise self.error(f'"{open_char}" not closed by "{stack[0]}" '
                                 '(truncated file?)', start)
            char, self.pos = match.group(), match.start()
            if char == '"':
                self._string()
            elif char == '#':
                eol = _EOL.search(self.text, self.pos)
                self.pos = eol.end() if eol else len(self.text)
            elif char in _CLOSE:
                stack.append(_CLOSE[char])
                self.pos += 1
            elif char == stack[-1]:
                stack.pop()
                self.pos += 1
            else:
                raise self.error(f'"{char}" where "{stack[-1]}" was expected')

    # Grammar --------------------------------------------------------------
    def parse(self) -> List[Node]:
        """All top-level nodes (``USE`` resolved, ``NULL`` dropped).

        Raises:
            MeshReadError: On a syntax error (with its line), an undefined
                ``USE``, or past a bound.
        """
        roots = []
        while self._peek():
            if self.text[self.pos] in '[]{}"':
                raise self.error(f'expected a node, got '
                                 f'{self.text[self.pos]!r}')
            pos = self.pos
            node = self._statement(self._word(), pos, 0)
            if isinstance(node, Node):
                roots.append(node)
        return roots

    def _statement(self, word: str, pos: int, depth: int):
        """The rest of a statement whose first word was read."""
        if word == 'DEF':
            name = self._name('DEF')
            self._peek()
            type_pos = self.pos
            node = self._node(self._name(f'DEF {name}'), type_pos, depth,
                              name)
            self.defs[name] = node
            return node
        if word == 'USE':
            name = self._name('USE')
            if name not in self.defs:
                raise self.error(f'USE {name}: no node was DEF {name} before '
                                 'it', pos)
            return self.defs[name]
        if word == 'NULL':
            return None
        if word in ('PROTO', 'EXTERNPROTO'):
            self._proto(word)
            return _NOTHING
        if word == 'ROUTE':
            self._route()
            return _NOTHING
        if word[0] in NUMBER_START:
            raise self.error(f'expected a node, got number {word[:20]!r}',
                             pos)
        return self._node(word, pos, depth)

    def _proto(self, keyword: str):
        self._name(keyword)
        if self._peek() != '[':
            raise self.error(f'{keyword} needs its interface "[ ... ]"')
        self._skip_balanced('[')
        if keyword == 'PROTO':
            if self._peek() != '{':
                raise self.error('PROTO needs its body "{ ... }"')
            self._skip_balanced('{')
        else:
            self._value(0, False)  # the url list

    def _route(self):
        for expected in (None, 'TO', None):
            if not self._peek():
                raise self.error('ROUTE statement cut short')
            word = self._word()
            if expected and word != expected:
                raise self.error(f'ROUTE: expected {expected!r}, got '
                                 f'{word[:20]!r}')

    def _node(self, type_: str, pos: int, depth: int,
              name: Optional[str] = None) -> Node:
        if depth >= self.max_depth:
            raise self.error(
                f'nodes nested deeper than {self.max_depth} '
                '(ReadLimits.max_depth, MMFER4D_READ_MAX_DEPTH)', pos)
        if self._peek() != '{':
            raise self.error(f'expected "{{" after node type {type_!r}')
        self.pos += 1
        node = Node(type_, pos, name)
        keep = self.keep.get(type_, frozenset())
        while True:
            char = self._peek()
            if char == '}':
                self.pos += 1
                return node
            if not char:
                raise self.error(
                    f'{type_} node (line {line_of(self.text, pos)}) is not '
                    'closed by "}" (truncated file?)')
            if char in '[]{"' or char in NUMBER_START:
                raise self.error(f'expected a field name or "}}" in {type_}'
                                 f', got {self.text[self.pos:][:20]!r}')
            field = self._word()
            if field == 'ROUTE':
                self._route()
            elif field in ('PROTO', 'EXTERNPROTO'):
                self._proto(field)
            elif field in _INTERFACE_EVENT:  # Script: eventIn type name
                self._name(field), self._name(field)
                self._is()
            elif field in _INTERFACE_FIELD:  # Script: field type name value
                self._name(field), self._name(field)
                if not self._is():
                    self._value(depth, False)
            elif not self._is():
                value = self._value(depth, field in keep)
                if field in keep:
                    node.fields[field] = value

    def _is(self) -> bool:
        """``IS name`` (inside a PROTO body); consumed when present."""
        if self._next_word_is('IS'):
            self._word()
            self._name('IS')
            return True
        return False

    def _value(self, depth: int, keep: bool):
        char = self._peek()
        if char == '[':
            self.pos += 1
            self._tick()
            return self._list(depth, keep)
        if char == '"':
            return self._string()
        if char in NUMBER_START and char:
            return self._number_run()
        if not char or char in ']{}':
            raise self.error('field has no value'
                             + (' (truncated file?)' if not char else ''))
        pos = self.pos
        word = self._word()
        if word in ('TRUE', 'FALSE'):
            return word == 'TRUE'
        if word in ('DEF', 'USE', 'NULL') or self._peek() == '{':
            node = self._statement(word, pos, depth + 1)
            return node if node is not _NOTHING else None
        return Ident(word)

    def _number_run(self) -> NumberSpan:
        """Numbers outside brackets (an SF value such as a translation)."""
        start = self.pos
        end = start
        while self._peek() in NUMBER_START and self.pos < len(self.text):
            self._word()
            end = self.pos
        return NumberSpan(start, end)

    def _number_list(self) -> NumberSpan:
        """Jump to the ``]`` closing a number list; its span."""
        text, start = self.text, self.pos
        pos = start
        while True:
            end = text.find(']', pos)
            hash_ = text.find('#', pos, end if end >= 0 else len(text))
            if hash_ < 0:
                break
            eol = _EOL.search(text, hash_)  # a comment may hold a "]"
            pos = eol.end() if eol else len(text)
        if end < 0:
            raise self.error('number list not closed by "]" (truncated '
                             'file?)', start)
        self.pos = end + 1
        return NumberSpan(start, end)

    def _list(self, depth: int, keep: bool):
        start = self.pos - 1
        char = self._peek()
        if char == ']':
            self.pos += 1
            return []
        if char in NUMBER_START and char:
            return self._number_list()
        items = []
        while True:
            char = self._peek()
            if char == ']':
                self.pos += 1
                return items
            if not char:
                raise self.error(
                    f'"[" of line {line_of(self.text, start)} not closed by '
                    '"]" (truncated file?)')
            if char == '"':
                item = self._string()
            elif char in '[{}' or char in NUMBER_START:
                raise self.error(
                    f'{self.text[self.pos:][:20]!r} in a list of nodes or '
                    f'strings opened at line {line_of(self.text, start)}')
            else:
                pos = self.pos
                word = self._word()
                if word in ('TRUE', 'FALSE'):
                    item = word == 'TRUE'
                else:
                    item = self._statement(word, pos, depth + 1)
                    if item is _NOTHING:
                        continue
            if keep:
                items.append(item)
