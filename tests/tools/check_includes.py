#!/usr/bin/env python3
"""Folder rules (docs/design.md "Folder rules"): every #include "..." of a C++ source may name only
its own folder and the folders the table below allows, never a higher one; and no source in
framework/ names a built-in optimizer by a string literal (the framework asks the optimizer).
Usage: check_includes.py [SOURCE_ROOT]. Prints each violation as file:line, exits 1 if any."""
import os
import re
import subprocess
import sys

FRAMEWORK = ["core", "backend", "backend/cpu", "backend/cuda", "backend/no_cuda", "io", "data", "nn",
             "optim", "dist", "mup", "stats", "train"]
EVERYTHING = set(FRAMEWORK) | {"models", "optimizers", "apps"}
# folder -> the other folders it may include (its own is always allowed). Keep in step with the
# table in docs/design.md.
ALLOWED = {
    "core": set(),
    "backend": {"core"},  # the interface (backend.h) and the shared element math (kernel_math.h)
    "backend/cpu": {"core", "backend"},
    "backend/cuda": {"core", "backend"},
    "backend/no_cuda": {"core", "backend"},
    "io": {"core"},
    "data": {"core", "io"},
    "nn": {"core", "backend", "io", "data"},
    "optim": {"core", "io", "nn"},
    "dist": {"core"},
    "mup": {"core", "io", "nn", "optim"},
    "stats": {"core", "backend", "backend/cpu", "io", "data", "nn", "optim"},
    "train": {"core", "backend", "backend/cpu", "io", "data", "nn", "optim", "dist", "mup", "stats"},
    "models": {"core", "io", "data", "nn"},
    "optimizers": {"core", "backend", "backend/cpu", "io", "nn", "optim"},
    "apps": EVERYTHING,
    "tests": EVERYTHING | {"tests"},
    "bench": EVERYTHING | {"bench"},
}
OPTIMIZER_NAMES = re.compile(r'"(muon|adamw|sgd)"')
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of_file(rel):
    parts = rel.split("/")
    if parts[0] == "framework" and len(parts) > 2:
        if parts[1] == "backend":  # backend/ itself (the interface) or one of its implementations
            return "/".join(parts[1:3]) if len(parts) > 3 else "backend"
        return parts[1]
    return parts[0]


def folder_of_include(path, including):
    parts = path.split("/")
    if parts[0] == "backend" and len(parts) > 2:
        return "/".join(parts[:2])
    if parts[0] in EVERYTHING:
        return parts[0]
    return including  # a file of the including folder ("reference_h5.h", "support/...")


def sources(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others",
                          "--exclude-standard", "*.h", "*.cpp", "*.cu", "*.cpp.in"],
                         capture_output=True, text=True, check=True).stdout.split()
    return [f for f in out if os.path.exists(os.path.join(root, f))]


def check(root):
    problems = []
    for rel in sources(root):
        folder = folder_of_file(rel)
        if folder not in ALLOWED:
            continue
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        for n, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if m:
                target = folder_of_include(m.group(1), folder)
                if target != folder and target not in ALLOWED[folder]:
                    problems.append(f"{rel}:{n}: {folder}/ may not include {m.group(1)} ({target}/)")
            if rel.startswith("framework/") and not line.lstrip().startswith("//"):
                code = line.split("//")[0]
                if OPTIMIZER_NAMES.search(code):
                    problems.append(f"{rel}:{n}: framework/ names an optimizer: {line.strip()}")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    problems = check(os.path.abspath(root))
    for p in problems:
        print(p)
    print(f"check_includes: {len(problems)} violation(s) of the folder rules (docs/design.md)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
