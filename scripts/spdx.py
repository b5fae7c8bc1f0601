#!/usr/bin/env python3
"""Every source file of tspike starts with its license identifier
(SPDX-License-Identifier: Apache-2.0), after a #! line if it has one.

    scripts/spdx.py           add the line where it is missing
    scripts/spdx.py --check   list the files without it; exit 1 if any
                              (ctest: source_license_headers)

Sources are the files git tracks with these names; third-party texts
(licenses/, LICENSE) and data (models/, tests/data/) are not sources."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG = "SPDX-License-Identifier: Apache-2.0"
# Comment syntax by file name ending. C files and C headers: /* */ (C90).
STYLES = [
    ((".cpp", ".hpp", ".inl", ".mjs", ".js", ".proto"), "// {}"),
    ((".c", ".h", ".h.in"), "/* {} */"),
    ((".py", ".sh", ".cmake", ".cmake.in", "CMakeLists.txt", ".clang-format", ".pc.in", "/run"), "# {}"),
]
SKIP_PREFIXES = ("licenses/", "models/", "tests/data/", "tests/fuzz/corpus", "tests/sanitizers/")


def style_of(path):
    for endings, fmt in STYLES:
        if path.endswith(endings):
            return fmt
    return None


def sources():
    out = subprocess.run(["git", "-C", ROOT, "ls-files"], check=True, capture_output=True, text=True).stdout
    for path in out.splitlines():
        if path.startswith(SKIP_PREFIXES) or style_of(path) is None:
            continue
        if os.path.isfile(os.path.join(ROOT, path)) and not os.path.islink(os.path.join(ROOT, path)):
            yield path


def has_tag(text):
    return TAG in "\n".join(text.splitlines()[:3])


def add_tag(path, text):
    line = style_of(path).format(TAG) + "\n"
    if text.startswith("#!"):
        first, _, rest = text.partition("\n")
        return first + "\n" + line + rest
    return line + text


def main():
    args = sys.argv[1:]
    if args not in ([], ["--check"]):
        print(__doc__, file=sys.stderr if args not in (["-h"], ["--help"]) else sys.stdout)
        return 0 if args in (["-h"], ["--help"]) else 2
    check = args == ["--check"]
    missing = []
    for path in sources():
        full = os.path.join(ROOT, path)
        with open(full, encoding="utf-8") as f:
            text = f.read()
        if has_tag(text):
            continue
        missing.append(path)
        if not check:
            with open(full, "w", encoding="utf-8") as f:
                f.write(add_tag(path, text))
    if check and missing:
        print(f"{len(missing)} source files without '{TAG}' in their first lines "
              f"(scripts/spdx.py adds it):", file=sys.stderr)
        for path in missing:
            print(f"  {path}", file=sys.stderr)
        return 1
    if not check and missing:
        print(f"added the license identifier to {len(missing)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
