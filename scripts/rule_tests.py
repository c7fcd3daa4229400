#!/usr/bin/env python3
"""The unit tests docs/design.md says fail without each rule: one line per test,
`R14 holder::a_test_name`, read from each rule's **Fails without it** paragraph.

scripts/reverts.sh --unit takes each rule out in turn and requires every test listed here
for it to fail (so a test the design names as the rule's guard is one).

`rule_tests.py --write` re-derives those paragraphs from the logs of the last `--unit` run
(target/reverts/Rn.unit.log) and prints the counts docs/reliability.md quotes.
"""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
design_path = root / "docs/design.md"
FAILING = re.compile(
    r"^test ([a-z_:0-9]+) (?:\.\.\. FAILED|has been running for over 60 seconds)$", re.M
)


def listed(design):
    """(rule, test) for every test named in a **Fails without it** paragraph."""
    rule, in_list = None, False
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
                yield rule, name


def failing_per_rule():
    """The tests each rule's revert failed in the last `--unit` run."""
    failing = {}
    for log in (root / "target/reverts").glob("R*.unit.log"):
        names = FAILING.findall(log.read_text())
        rule = log.name.split(".")[0]
        failing[rule] = sorted({n.removeprefix("core::tests::") for n in names})
    if not failing:
        sys.exit("no target/reverts/R*.unit.log: run scripts/reverts.sh --unit first")
    return failing


def rewrite(design, failing):
    """design.md with each rule's **Fails without it** list replaced by `failing`'s."""
    out, lines, i, rule = [], design.splitlines(), 0, None
    while i < len(lines):
        line = lines[i]
        heading = re.match(r"^#### (R\d+)\. ", line)
        if heading:
            rule = heading.group(1)
        if line.startswith("**Fails without it**") and rule in failing:
            out.append(line.split("):", 1)[0] + "):")
            names = failing[rule]
            out += [f"`{n}`" + ("." if k == len(names) - 1 else ",") for k, n in enumerate(names)]
            i += 1
            while i < len(lines) and lines[i].strip():
                i += 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out) + "\n"


design = design_path.read_text()
if sys.argv[1:] == ["--write"]:
    failing = failing_per_rule()
    design_path.write_text(rewrite(design, failing))
    order = sorted(failing, key=lambda r: int(r[1:]))
    print(", ".join(f"{r} {len(failing[r])}" for r in order) + ".")
    sys.exit(0)
found = 0
for rule, name in listed(design):
    print(rule, name)
    found += 1
if not found:
    sys.exit("no **Fails without it** paragraph with tests in docs/design.md")
