#!/usr/bin/env python3
"""Function length rule (docs/design.md "apps/"): no function of a C++ source in the checked folders
(default apps/, the command line) is longer than the limit (default 60 lines, from the first line
of its signature to its closing brace). Functions are found by their braces after comments and
string literals are blanked: a `{` directly inside namespaces and classes that follows a `)` (and
const, override, noexcept or a constructor's initialiser list) opens a function; lambdas and
blocks inside it are part of it.
Usage: check_function_length.py [SOURCE_ROOT] [--limit N] [--folder DIR ...]. Prints each function
over the limit as file:line, exits 1 if any."""
import argparse
import os
import re
import sys

LITERALS = re.compile(r'//[^\n]*|/\*.*?\*/|R"([^(]*)\((?:.|\n)*?\)\1"|"(?:\\.|[^"\\\n])*"|'
                      r"'(?:\\.|[^'\\\n])*'", re.S)
ACCESS = re.compile(r"\s*(?:public|private|protected)\s*:(?!:)")
SCOPE = re.compile(r"\b(namespace|struct|class|enum|union)\b")
FUNCTION_HEAD = re.compile(r"\)\s*(?:const|override|noexcept|final|mutable|\s)*"
                           r"(?:->\s*[\w:<>,\s*&]+)?$|\)\s*:[^;]*$", re.S)


def blank_literals(text):
    """Comments and string/char literals replaced by spaces (newlines kept: lines still count)."""
    return LITERALS.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def functions(text):
    """(first line, last line, signature) of every function defined in a C++ source."""
    text = blank_literals(text)
    stack, out = [], []  # scopes: ("scope",), ("other",) or ("fn", first line, signature)
    last_end = 0  # where the text before the next `{` starts: after the last ; { or }
    for i, ch in enumerate(text):
        if ch in ";":
            last_end = i + 1
        if ch == "{":
            head = text[last_end:i]
            in_scopes = all(s[0] == "scope" for s in stack)
            if SCOPE.search(head) and "(" not in head:
                stack.append(("scope",))
            elif in_scopes and FUNCTION_HEAD.search(head.rstrip()):
                label = ACCESS.match(head)  # "public:" before a member function
                start = last_end + (label.end() if label else 0)
                head = text[start:i]
                first = text.count("\n", 0, start + len(head) - len(head.lstrip())) + 1
                stack.append(("fn", first, " ".join(head.split())[:80]))
            else:
                stack.append(("other",))
            last_end = i + 1
        elif ch == "}":
            top = stack.pop() if stack else ("other",)
            if top[0] == "fn":
                out.append((top[1], text.count("\n", 0, i) + 1, top[2]))
            last_end = i + 1
    return out


def check(root, folders=("apps",), limit=60):
    problems = []
    for folder in folders:
        base = os.path.join(root, folder)
        for dirpath, _, names in os.walk(base):
            for name in sorted(names):
                if not name.endswith((".cpp", ".h", ".cu")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                for first, last, signature in functions(text):
                    if last - first + 1 > limit:
                        problems.append(f"{rel}:{first}: {last - first + 1} lines (over {limit}): "
                                        f"{signature}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("--limit", type=int, default=60)
    ap.add_argument("--folder", nargs="+", default=["apps"])
    a = ap.parse_args()
    problems = check(os.path.abspath(a.root), a.folder, a.limit)
    for p in problems:
        print(p)
    print(f"check_function_length: {len(problems)} function(s) over {a.limit} lines in "
          f"{', '.join(a.folder)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
