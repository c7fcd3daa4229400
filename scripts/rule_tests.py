#!/usr/bin/env python3
"""The unit tests docs/design.md says fail without each rule: one line per test,
`R14 holder::a_test_name`, read from each rule's **Fails without it** paragraph.

scripts/reverts.sh --unit takes each rule out in turn and requires every test listed here
for it to fail (so a test the design names as the rule's guard is one); the paragraph is
re-derived from that run's output when the tests change.
"""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
design = (root / "docs/design.md").read_text()
rule = None
in_list = False
found = 0
for line in design.splitlines():
    heading = re.match(r"^#### (R\d+)\. ", line)
    if heading or line.startswith("#"):
        rule, in_list = (heading.group(1) if heading else None), False
        continue
    if rule and line.startswith("**Fails without it**"):
        in_list = True
        line = line.split(":", 1)[1] if "):" in line else line
    elif not line.strip():
        in_list = False
    if in_list:
        for name in re.findall(r"`([a-z0-9_]+(?:::[a-z0-9_]+)+)`", line):
            print(rule, name)
            found += 1
if not found:
    sys.exit("no **Fails without it** paragraph with tests in docs/design.md")
