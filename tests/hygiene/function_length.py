#!/usr/bin/env python3
"""No function over 80 lines in non-test code, except marked tables (issue #12 item 4).

Scans the .cc files under services/, access/, auth/, common/, storage/, tools/ and
exe/ (not *_test.cc, not tests/), finds every function body lexically (comments,
strings and preprocessor lines blanked, braces matched) and fails if one spans more
than 80 lines, counted from the line of its opening brace to the line of its closing
brace. A lambda counts toward the function that holds it.

A function whose comment block directly above it holds a line starting with
`// table:` is exempt: a table reads best whole (say what it tables after the colon).

Usage: function_length.py [--pending <list>] <source-root> [files...]
  With files, checks only those (paths relative to the root).
  --pending: a file of `path:Function` lines (# comments) tolerated for now: long
  functions other work is splitting. One no longer too long is reported as stale.
Exit 0 when no function is too long; 1 with one line per offender otherwise.
"""

import os
import re
import sys

MAX_LINES = 80
DIRS = ("services", "access", "auth", "common", "storage", "tools", "exe")
TABLE_MARK = re.compile(r"^\s*//\s*table:")
IDENT = re.compile(r"[A-Za-z_~][A-Za-z0-9_]*")


def blank_non_code(text):
    """The text with comments, string and char literals and preprocessor lines
    replaced by spaces, newlines kept (so offsets and line numbers still hold)."""
    out = list(text)
    i, n = 0, len(text)
    line_start = True

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if line_start and c == "#" or (line_start and c in " \t" and
                                        text[i:].lstrip(" \t").startswith("#")):
            j = i
            while j < n:  # the directive, with its continuation lines
                k = text.find("\n", j)
                k = n if k < 0 else k
                if k > 0 and text[k - 1] == "\\":
                    j = k + 1
                    continue
                j = k
                break
            blank(i, j)
            i = j
            continue
        line_start = c == "\n"
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^(\s]{0,16})\(', text[i:])
            if not m:
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            blank(i, j)
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():
                i += 1  # a digit separator (1'000'000)
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            blank(i, min(j + 1, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


def matching_brace(code, i):
    depth = 0
    for j in range(i, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(code) - 1


def top_level(header):
    """The header with everything inside (), <> of templates, and [] removed."""
    out, depth = [], 0
    for c in header:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(c)
    return "".join(out)


def classify(header):
    """What a `{` opens at namespace or class scope, given the text since the last
    declaration: 'namespace', 'class', 'function', 'init' (a member initializer of a
    constructor) or 'data' (an initializer, an enum's values)."""
    flat = top_level(header)
    words = set(IDENT.findall(flat))
    if "namespace" in words or ("extern" in words and "(" not in header):
        return "namespace"
    if "(" not in header:
        if "enum" in words or "=" in flat:
            return "data"
        if words & {"class", "struct", "union"}:
            return "class"
        return "data"
    if re.search(r"(^|[^=!<>])=($|[^=])", flat.replace("operator=", "")):
        return "data"  # e.g. `auto kTable = std::vector<T>({...})` or `x = f({...})`
    # After the parameter list: a lone `:` starts a constructor's initializers, and a
    # `{` right after a name there is one of them (`b_{b}`), not the body.
    close = header.find(")")
    rest = header[close:]
    if re.search(r"(^|[^:]):($|[^:])", rest) and re.search(r"[A-Za-z0-9_>]\s*$", header):
        return "init"
    return "function"


def function_name(header):
    m = None
    depth = 0
    for i, c in enumerate(header):
        if c == "(":
            if depth == 0 and m is None:
                names = re.findall(r"[A-Za-z_~][A-Za-z0-9_:~]*(?:\s*(?:<[^()]*>))?\s*$",
                                   header[:i])
                m = names[-1].strip() if names else "?"
            depth += 1
        elif c == ")":
            depth -= 1
    return m or "?"


def functions(text):
    """Yields (name, first line of its signature, opening line, closing line, exempt)."""
    code = blank_non_code(text)
    raw_lines = text.split("\n")
    line_of = []
    line = 1
    for c in code:
        line_of.append(line)
        if c == "\n":
            line += 1
    yield from _scan(code, 0, len(code), raw_lines, line_of)


def _scan(code, start, end, raw_lines, line_of):
    decl = start
    i = start
    while i < end:
        c = code[i]
        if c in ";}":
            decl = i + 1
        elif c == "{":
            header = code[decl:i]
            kind = classify(header)
            close = matching_brace(code, i)
            if kind in ("namespace", "class"):
                yield from _scan(code, i + 1, close, raw_lines, line_of)
            elif kind == "function":
                first = decl + (len(header) - len(header.lstrip()))
                sig_line = line_of[min(first, len(line_of) - 1)]
                yield (function_name(header), sig_line, line_of[i], line_of[close],
                       _marked_table(raw_lines, sig_line))
            if kind == "init":
                i = close + 1  # the initializer; the declaration goes on
                continue
            decl = close + 1
            i = close + 1
            continue
        i += 1


def _marked_table(raw_lines, sig_line):
    """Whether the comment block right above line `sig_line` holds `// table:`."""
    k = sig_line - 2  # index of the line above
    while k >= 0 and raw_lines[k].strip().startswith("//"):
        if TABLE_MARK.match(raw_lines[k]):
            return True
        k -= 1
    return False


def checked_files(root):
    for d in DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
            dirnames.sort()
            for f in sorted(filenames):
                if f.endswith(".cc") and not f.endswith("_test.cc"):
                    yield os.path.join(dirpath, f)


def read_pending(path):
    pending = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                pending.add(line)
    return pending


def main(argv):
    args = argv[1:]
    pending = set()
    if args[:1] == ["--pending"] and len(args) >= 2:
        pending = read_pending(args[1])
        args = args[2:]
    if not args:
        print("usage: function_length.py [--pending <list>] <source-root> [files...]",
              file=sys.stderr)
        return 2
    root = args[0]
    files = [os.path.join(root, f) for f in args[1:]] or list(checked_files(root))
    offenders = []
    tolerated = set()
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for name, sig, opening, closing, exempt in functions(text):
            length = closing - opening + 1
            key = f"{os.path.relpath(path, root)}:{name}"
            if length > MAX_LINES and not exempt and key in pending:
                tolerated.add(key)
            elif length > MAX_LINES and not exempt:
                offenders.append(f"{os.path.relpath(path, root)}:{sig}: {name} is {length} "
                                 f"lines (at most {MAX_LINES}; a table is marked `// table:`)")
    for o in offenders:
        print(o)
    for key in sorted(pending - tolerated):
        print(f"note: {key} is no longer over {MAX_LINES} lines: remove it from the pending list")
    if offenders:
        print(f"{len(offenders)} function(s) over {MAX_LINES} lines", file=sys.stderr)
        return 1
    print(f"ok: {len(files)} files, no function over {MAX_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
