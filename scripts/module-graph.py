#!/usr/bin/env python3
"""The module graph of runtime/src, and the checks that keep it a stack of layers.

    python3 scripts/module-graph.py [SRC_DIR]        # default: runtime/src

Prints one line per top-level module of the crate, `a -> b, c`: the top-level modules that
`a` names (through `crate::…` paths, `use crate::{…}` groups, and `super::…` paths that climb
to the crate root; names re-exported at the crate root count as the module they come from).
Comments and string literals are ignored, so intra-doc links do not count.

Then three checks; the script exits 1 when one fails and says what is wrong:

1. cycles: no cycle between top-level modules (the arrows only point down);
2. one home per type: a type's inherent `impl` blocks live in the file that defines it, or
   in files of that module's own submodules (`centurion/mod.rs` defines `Centurion`; its
   methods may be split by concept into `centurion/sessions.rs`, never into `http/`). A type
   is known by where it is defined, so two private types of one name in different modules
   are two types; a name defined in several files and impl'd where it is not defined is
   checked by name, conservatively;
3. no field reaching: no struct field is `pub(crate)`, and `pub(super)` fields live only
   in files inside a directory module (where `super` is that directory, not the crate).

Python 3 standard library only.
"""

import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments_and_strings(text):
    """The text with comments, string and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not re.match(r"[A-Za-z0-9_]", text[i - 1])):
            m = re.match(r'r(#*)"', text[i:])
            hashes = m.group(1)
            end = text.find('"' + hashes, i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(hashes)
            out.append(blank(text[i:end]))
            i = end
        elif c == "b" and text.startswith('b"', i) and (i == 0 or not re.match(r"[A-Za-z0-9_]", text[i - 1])):
            out.append(" ")
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i : j + 1]))
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a): blank literals only.
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            if m:
                out.append(blank(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


class Source:
    """One .rs file: its top-level module, its module depth below the crate root, and
    the positions of the inline `mod x { … }` blocks it holds."""

    def __init__(self, root, path):
        self.path = path
        rel = os.path.relpath(path, root)
        parts = rel[:-3].split(os.sep)
        if parts[-1] == "mod":
            parts = parts[:-1]
        self.top = parts[0] if parts else "lib"
        self.depth = 0 if rel == "lib.rs" else len(parts)
        self.rel = rel
        with open(path, encoding="utf-8") as f:
            self.raw = f.read()
        self.code = strip_comments_and_strings(self.raw)
        self.inline = self._inline_modules()

    def _inline_modules(self):
        spans = []
        for m in re.finditer(r"\bmod\s+" + IDENT + r"\s*\{", self.code):
            start = m.end() - 1
            depth, j = 0, start
            while j < len(self.code):
                if self.code[j] == "{":
                    depth += 1
                elif self.code[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            spans.append((start, j))
        return spans

    def depth_at(self, pos):
        return self.depth + sum(1 for a, b in self.inline if a < pos < b)

    def line_of(self, pos):
        return self.code.count("\n", 0, pos) + 1


def sources(root):
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if name.endswith(".rs"):
                yield Source(root, os.path.join(dirpath, name))


def top_modules(root):
    mods = set()
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name.endswith(".rs") and name != "lib.rs":
            mods.add(name[:-3])
        elif os.path.isdir(path) and os.path.exists(os.path.join(path, "mod.rs")):
            mods.add(name)
    return mods


def brace_group(code, start):
    """The text of the `{ … }` group opening at `start`, without the outer braces."""
    depth, j = 0, start
    while j < len(code):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return code[start + 1 : j]
        j += 1
    return code[start + 1 :]


def split_top(text):
    """Items of a `use` group separated by top-level commas."""
    items, depth, cur = [], 0, []
    for c in text:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            items.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    items.append("".join(cur))
    return [i.strip() for i in items if i.strip()]


def root_reexports(lib, mods):
    """Names the crate root re-exports from one of its modules: name -> module."""
    names = {}
    for m in re.finditer(r"\bpub\s+use\s+(?:crate::)?(" + IDENT + r")::", lib.code):
        module = m.group(1)
        if module not in mods:
            continue
        rest = lib.code[m.end() :]
        if rest.startswith("{"):
            group = brace_group(rest, 0)
        else:
            group = re.match(r"[^;]*", rest).group(0)
        for item in re.findall(IDENT + r"(?:\s+as\s+" + IDENT + r")?", group):
            alias = re.split(r"\s+as\s+", item)[-1]
            last = alias.split("::")[-1]
            if last not in ("self", "super", "crate"):
                names[last] = module
    return names


def first_segments(code, start):
    """First path segments named after `crate::` at `start` (one, or a `{…}` group's)."""
    rest = code[start:]
    m = re.match(r"\s*(" + IDENT + r")", rest)
    if m:
        return [m.group(1)]
    if rest.lstrip().startswith("{"):
        offset = len(rest) - len(rest.lstrip())
        group = brace_group(rest, offset)
        segs = []
        for item in split_top(group):
            m = re.match(IDENT, item)
            if m:
                segs.append(m.group(0))
        return segs
    return []


def edges(root):
    mods = top_modules(root)
    srcs = list(sources(root))
    lib = next((s for s in srcs if s.rel == "lib.rs"), None)
    reexports = root_reexports(lib, mods) if lib else {}
    graph = {m: set() for m in mods}
    unknown = []

    def target(name):
        if name in mods:
            return name
        return reexports.get(name)

    for src in srcs:
        if src.rel == "lib.rs":
            continue
        found = []
        for m in re.finditer(r"\bcrate\s*::", src.code):
            for seg in first_segments(src.code, m.end()):
                found.append((m.start(), seg))
        for m in re.finditer(r"\b((?:super\s*::\s*)+)", src.code):
            climbs = m.group(1).count("super")
            if climbs != src.depth_at(m.start()):
                continue  # stays inside this module
            for seg in first_segments(src.code, m.end()):
                found.append((m.start(), seg))
        for pos, seg in found:
            if seg in ("self", "super", "crate"):
                continue
            to = target(seg)
            if to is None:
                if not seg[0].isupper() and seg not in ("__private",):
                    unknown.append(f"{src.rel}:{src.line_of(pos)}: crate::{seg}")
                continue
            if to != src.top:
                graph[src.top].add(to)
    return graph, unknown


def components(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def find_cycle(graph):
    WHITE, GREY, BLACK = 0, 1, 2
    color = {m: WHITE for m in graph}
    stack = []

    def visit(m):
        color[m] = GREY
        stack.append(m)
        for n in sorted(graph[m]):
            if color[n] == GREY:
                return stack[stack.index(n) :] + [n]
            if color[n] == WHITE:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        color[m] = BLACK
        return None

    for m in sorted(graph):
        if color[m] == WHITE:
            found = visit(m)
            if found:
                return found
    return None


def impl_headers(code):
    """(position, header text) of every `impl` block: from `impl` to its `{`."""
    for m in re.finditer(r"(?m)^[ \t]*(?:unsafe[ \t]+)?impl\b", code):
        j, angle = m.end(), 0
        while j < len(code):
            c = code[j]
            if c == "<":
                angle += 1
            elif c == ">" and code[j - 1] != "-":
                angle -= 1
            elif c in "{;" and angle <= 0:
                break
            j += 1
        if j < len(code) and code[j] == "{":
            yield m.start(), code[m.end() : j]


def strip_generics(text):
    out, depth, i = [], 0, 0
    while i < len(text):
        c = text[i]
        if c == "<":
            depth += 1
        elif c == ">" and (i == 0 or text[i - 1] != "-"):
            depth -= 1
        elif depth == 0:
            out.append(c)
        i += 1
    return "".join(out)


def inherent_impls(src):
    """Types with an inherent impl block in this file: name -> first line."""
    found = {}
    for pos, header in impl_headers(src.code):
        header = header.strip()
        if header.startswith("<"):
            depth, k = 0, 0
            for k, c in enumerate(header):
                if c == "<":
                    depth += 1
                elif c == ">" and header[k - 1] != "-":
                    depth -= 1
                    if depth == 0:
                        break
            header = header[k + 1 :]
        header = re.split(r"\bwhere\b", strip_generics(header))[0]
        if re.search(r"\bfor\b", header):
            continue  # a trait impl
        names = re.findall(IDENT, header.replace("dyn", " "))
        if not names:
            continue
        found.setdefault(names[-1], src.line_of(pos))
    return found


def struct_field_problems(src):
    problems = []
    for m in re.finditer(r"\bstruct\s+" + IDENT, src.code):
        j = m.end()
        # skip generics and where clauses up to the body
        while j < len(src.code) and src.code[j] not in "{(;":
            j += 1
        if j >= len(src.code) or src.code[j] == ";":
            continue
        opener = src.code[j]
        closer = "}" if opener == "{" else ")"
        depth, k = 0, j
        while k < len(src.code):
            if src.code[k] in "{(":
                depth += 1
            elif src.code[k] in "})":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        body = src.code[j:k]
        for v in re.finditer(r"\bpub\s*\(\s*(crate|super)\s*\)", body):
            scope = v.group(1)
            if scope == "crate" or src.depth_at(j) <= 1:
                line = src.line_of(j + v.start())
                problems.append(
                    f"{src.rel}:{line}: a `pub({scope})` field in a module of its own: "
                    "make it private and add a method"
                )
        del closer
    return problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "runtime", "src")
    root = os.path.normpath(root)
    graph, unknown = edges(root)
    for m in sorted(graph):
        print(f"{m} -> {', '.join(sorted(graph[m]))}".rstrip())
    failed = False

    cycle = find_cycle(graph)
    if cycle:
        failed = True
        print(f"\nerror: an import cycle between top-level modules: {' -> '.join(cycle)}")
        for comp in components(graph):
            print(f"  modules on a cycle together ({len(comp)}): {', '.join(comp)}")

    all_sources = list(sources(root))
    defined = defaultdict(set)  # type name -> files that define a type of that name
    for src in all_sources:
        for m in re.finditer(r"\b(?:struct|enum|union|type)\s+(" + IDENT + ")", src.code):
            defined[m.group(1)].add(src.rel)
    homes = defaultdict(dict)  # (defining file or None, name) -> {file: line}
    for src in all_sources:
        for name, line in inherent_impls(src).items():
            files = defined.get(name, set())
            if src.rel in files:
                home = src.rel
            elif len(files) == 1:
                home = next(iter(files))
            else:
                home = None  # defined nowhere here, or in several files: by name
            homes[(home, name)][src.rel] = line
    for home, name in sorted(homes, key=lambda k: (k[1], k[0] or "")):
        impls = homes[(home, name)]
        if home is None:
            misplaced = impls if len(impls) > 1 else {}
        else:
            module_dir = os.path.dirname(home) if home.endswith("mod.rs") else home[:-3]
            misplaced = {
                f: l for f, l in impls.items()
                if f != home and not f.startswith(module_dir + os.sep)
            }
        if misplaced:
            failed = True
            where = ", ".join(f"{f}:{l}" for f, l in sorted(impls.items()))
            defined_in = f" (defined in {home})" if home else ""
            print(f"\nerror: `{name}`{defined_in} has inherent impl blocks outside its module: {where}")

    problems = [p for src in sources(root) for p in struct_field_problems(src)]
    if problems:
        failed = True
        print(f"\nerror: {len(problems)} struct fields can be reached from other modules:")
        for problem in problems:
            print(f"  {problem}")

    for u in unknown:
        print(f"note: {u} names no top-level module or root re-export", file=sys.stderr)

    if failed:
        sys.exit(1)
    print(f"\nok: {len(graph)} modules, no cycle; every type's inherent impls in its own module; "
          "no field reached from another module")


if __name__ == "__main__":
    main()
