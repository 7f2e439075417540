#!/usr/bin/env bash
# The README's "Compose an engine" snippet must be examples/compose/main.cpp minus its
# two comment lines, so the README never shows code that does not compile.
set -euo pipefail
readme=$1 source=$2
diff <(awk '/^## Compose an engine/{f=1} f&&/^```cpp/{g=1;next} g&&/^```/{exit} g' "$readme") <(tail -n +3 "$source")
