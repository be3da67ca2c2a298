#!/usr/bin/env bash
# Test names that ctest cannot register as one test each: catch_discover_tests splits a name
# at ';' and Catch2 reads '[' as the start of a tag filter, so such a test silently runs as
# two broken ones or not at all (docs/TESTING.md). Fails, naming each, when a TEST_CASE's
# name has either.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY'
import glob, re, sys
bad = []
literal = r'"(?:[^"\\]|\\.)*"'
for path in sorted(glob.glob("tests/**/*.cpp", recursive=True)):
    text = open(path, encoding="utf-8").read()
    for m in re.finditer(r"TEST_CASE\(\s*((?:" + literal + r"\s*)+)", text):
        name = "".join(re.findall(literal, m.group(1)))
        name = name.replace('""', "")[1:-1]
        if ";" in name or "[" in name:
            line = text.count("\n", 0, m.start()) + 1
            bad.append(f"{path}:{line}: {name}")
for b in bad:
    print("check-test-names: ';' or '[' in a test name: " + b, file=sys.stderr)
if bad:
    sys.exit(f"check-test-names: FAILED, {len(bad)} name(s)")
print("check-test-names: ok")
PY
