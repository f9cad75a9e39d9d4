#!/usr/bin/env python3
"""Each target includes only headers of the libraries it links (issue #12 item 4).

Reads the target model CMake writes at configure time (cmake/relais_target_model.cmake:
every target's sources, include directories and link libraries), gives each project
header one owning target, and fails if a file includes a header whose owner is not
in the usage closure of the target compiling it. Every target still sees the whole
source root as an include directory, so the compiler alone would not notice.

The rules:
- The usage closure of T: T, the libraries T links, and recursively the PUBLIC
  (INTERFACE) links of those: what CMake propagates include directories through.
  A PRIVATE link of a library ($<LINK_ONLY:...>) does not propagate.
- A .cc of T may include a header owned by any library in T's usage closure.
- A header owned by L is compiled by L's users too, so it may include only
  headers of L's PUBLIC closure (L and what L links PUBLIC, transitively).
- The owner of a header: the target that lists it among its sources (generated
  proto headers are listed so by relais_proto_library); else the library that
  compiles the .cc of the same name beside it; else the one library compiling
  sources in its folder. A header with no owner, or two, is an error: list it in
  its library's sources.

Usage: include_check.py <build-dir>/relais_targets.json
Exit 0 when clean; 1 with one line per violation otherwise.
"""

import json
import os
import re
import sys

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)
LIBRARY_TYPES = {"STATIC_LIBRARY", "SHARED_LIBRARY", "OBJECT_LIBRARY", "INTERFACE_LIBRARY",
                 "MODULE_LIBRARY"}
HEADER_EXTS = (".h", ".hh", ".hpp", ".inc")
SOURCE_EXTS = (".cc", ".cpp", ".cxx", ".c") + HEADER_EXTS


class Model:
    """The targets of one build tree, with the files they own and include."""

    def __init__(self, model):
        self.root = os.path.realpath(model["source_dir"])
        self.binary = os.path.realpath(model["binary_dir"])
        self.targets = model["targets"]
        self.sources = {}  # target -> absolute source paths
        for name, t in self.targets.items():
            self.sources[name] = [self._abs(t["SOURCE_DIR"], s) for s in t["SOURCES"]
                                  if "$<" not in s]
        self.owner = {}  # include name ("services/x/y.h") -> owning target
        self.problems = []
        self._assign_owners()

    @staticmethod
    def _abs(base, path):
        return os.path.realpath(path if os.path.isabs(path) else os.path.join(base, path))

    def _in_tree(self, path):
        return path.startswith(self.root + os.sep) and not path.startswith(self.binary + os.sep)

    def include_name(self, target, path):
        """How code includes `path`: relative to the source root, or for a generated
        header relative to the target's include directory holding it."""
        if self._in_tree(path):
            return os.path.relpath(path, self.root)
        for d in self.targets[target]["INCLUDE_DIRECTORIES"]:
            d = os.path.realpath(d)
            if path.startswith(d + os.sep):
                return os.path.relpath(path, d)
        return None

    def _claim(self, name, target, how):
        current = self.owner.get(name)
        if current is not None and current != target:
            self.problems.append(f"{name}: owned by both {current} and {target} ({how}); "
                                 "list it in one library's sources")
            return
        self.owner[name] = target

    def _assign_owners(self):
        # 1. Headers listed as sources (including generated proto headers).
        for t, srcs in self.sources.items():
            for s in srcs:
                if s.endswith(HEADER_EXTS):
                    name = self.include_name(t, s)
                    if name is not None:
                        self._claim(name, t, "listed")
        # 2. foo.h beside a foo.cc that a library compiles (libraries first).
        compiled = {}  # source-tree .cc path -> targets compiling it
        for t, srcs in self.sources.items():
            for s in srcs:
                if self._in_tree(s) and not s.endswith(HEADER_EXTS):
                    compiled.setdefault(s, []).append(t)
        for header in self.tree_headers():
            name = os.path.relpath(header, self.root)
            if name in self.owner:
                continue
            stem = os.path.splitext(header)[0]
            users = [t for ext in (".cc", ".cpp") for t in compiled.get(stem + ext, [])]
            libs = sorted({t for t in users if self.targets[t]["TYPE"] in LIBRARY_TYPES})
            if len(libs) == 1 or (not libs and len(set(users)) == 1):
                self.owner[name] = (libs or users)[0]
                continue
            if len(libs) > 1:
                self.problems.append(f"{name}: its .cc is compiled by {', '.join(libs)}; "
                                     "one library must own it")
                continue
            # 3. The one library compiling sources in the header's folder.
            folder = os.path.dirname(header)
            libs = sorted({t for s, ts in compiled.items() if os.path.dirname(s) == folder
                           for t in ts if self.targets[t]["TYPE"] in LIBRARY_TYPES})
            if len(libs) == 1:
                self.owner[name] = libs[0]
            elif libs:
                self.problems.append(f"{name}: no .cc beside it and {', '.join(libs)} all "
                                     "live in its folder; list it in its library's sources")
            # A header no target builds near (a stray file) is left to the compiler.

    def tree_headers(self):
        """Headers of the source tree in folders where some target has sources."""
        folders = {os.path.dirname(s) for srcs in self.sources.values() for s in srcs
                   if self._in_tree(s)}
        for folder in sorted(folders):
            for entry in sorted(os.listdir(folder)):
                path = os.path.join(folder, entry)
                if entry.endswith(HEADER_EXTS) and os.path.isfile(path):
                    yield path

    def closure(self, target, public_only):
        """Targets whose headers `target`'s files may include."""
        seen = {target}
        t = self.targets[target]
        if public_only or t["TYPE"] == "INTERFACE_LIBRARY":
            todo = list(t["INTERFACE_LINK_LIBRARIES"])
        else:
            todo = list(t["LINK_LIBRARIES"])
        while todo:
            lib = todo.pop()
            if lib.startswith("$<LINK_ONLY:") or lib not in self.targets or lib in seen:
                continue  # a private link, an imported target or one already seen
            seen.add(lib)
            todo.extend(self.targets[lib]["INTERFACE_LINK_LIBRARIES"])
        return seen

    def resolve(self, including_file, name):
        """The include name of a quoted include, or None when it is not ours."""
        beside = os.path.realpath(os.path.join(os.path.dirname(including_file), name))
        if self._in_tree(beside) and os.path.isfile(beside):
            return os.path.relpath(beside, self.root)
        return name if name in self.owner else None


def includes_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return INCLUDE_RE.findall(f.read())


def check(model):
    problems = list(model.problems)
    checked_headers = set()
    for target in sorted(model.targets):
        allowed = model.closure(target, public_only=False)
        for src in model.sources[target]:
            if not model._in_tree(src) or not src.endswith(SOURCE_EXTS):
                continue
            if not os.path.isfile(src):
                continue
            rel = os.path.relpath(src, model.root)
            for inc in includes_of(src):
                name = model.resolve(src, inc)
                owner = model.owner.get(name) if name else None
                if owner is not None and owner not in allowed:
                    problems.append(f"{rel} (in {target}) includes \"{inc}\" of {owner}, "
                                    f"which {target} does not link")
    # Headers: what they include must reach every user, i.e. be linked PUBLIC.
    for name, owner in sorted(model.owner.items()):
        path = os.path.join(model.root, name)
        if name in checked_headers or not os.path.isfile(path):
            continue  # generated headers are not ours to check
        checked_headers.add(name)
        allowed = model.closure(owner, public_only=True)
        for inc in includes_of(path):
            dep = model.resolve(path, inc)
            dep_owner = model.owner.get(dep) if dep else None
            if dep_owner is not None and dep_owner not in allowed:
                problems.append(f"{name} (of {owner}) includes \"{inc}\" of {dep_owner}, "
                                f"which {owner} does not link PUBLIC")
    return problems


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        model = Model(json.load(f))
    problems = check(model)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) of libraries not linked: link the library "
              "(PUBLIC if a header includes it) or stop including it", file=sys.stderr)
        return 1
    print(f"ok: {len(model.owner)} headers, {len(model.targets)} targets")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
