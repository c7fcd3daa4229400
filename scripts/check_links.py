#!/usr/bin/env python3
"""Every relative Markdown link and anchor in the repository resolves, and none points outside
it (docs moved between files keep their readers). Run by scripts/check-deploy.sh."""
import os, re, subprocess, sys, unicodedata

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
files = subprocess.run(["git", "-C", root, "ls-files", "-co", "--exclude-standard", "*.md"],
                       capture_output=True, text=True, check=True).stdout.split()

def slug(text):
    t = text.strip().lower()
    t = re.sub(r"<[^>]+>", "", t)          # html tags
    t = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", t)  # links -> text
    out = []
    for ch in t:
        cat = unicodedata.category(ch)
        if ch in "-_" or ch == " " or cat[0] in "LN":
            out.append(ch)
    return "".join(out).replace(" ", "-")

def strip_fences(lines):
    """Yield (lineno, line, in_code) marking fenced code."""
    fence = None
    for i, l in enumerate(lines, 1):
        m = re.match(r"^\s*(```+|~~~+)", l)
        if m:
            if fence is None:
                fence = m.group(1)[0] * 3
                yield i, l, True
                continue
            elif l.strip().startswith(fence):
                fence = None
                yield i, l, True
                continue
        yield i, l, fence is not None

anchors_cache = {}
def anchors(path):
    if path in anchors_cache:
        return anchors_cache[path]
    seen = {}
    result = set()
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i, l, code in strip_fences(lines):
        if code:
            continue
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", l)
        if m:
            s = slug(m.group(2))
            n = seen.get(s, 0)
            result.add(s if n == 0 else f"{s}-{n}")
            seen[s] = n + 1
        for a in re.findall(r'<a\s+(?:name|id)="([^"]+)"', l):
            result.add(a)
    anchors_cache[path] = result
    return result

link_re = re.compile(r"(?<!\!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
img_re = re.compile(r"\!\[[^\]]*\]\(\s*([^)\s]+)")
errors = 0
count = 0
for rel in files:
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for i, l, code in strip_fences(lines):
        if code:
            continue
        l2 = re.sub(r"`[^`]*`", "", l)
        for target in link_re.findall(l2) + img_re.findall(l2):
            count += 1
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue  # http:, https:, mailto:
            if target.startswith("/"):
                print(f"{rel}:{i}: absolute link {target}"); errors += 1; continue
            file_part, _, anchor = target.partition("#")
            if file_part:
                dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
            else:
                dest = path
            if not (dest == root or dest.startswith(root + os.sep)):
                print(f"{rel}:{i}: outside the repository: {target}"); errors += 1; continue
            if not os.path.exists(dest):
                print(f"{rel}:{i}: missing file: {target}"); errors += 1; continue
            if anchor:
                if not dest.endswith(".md"):
                    print(f"{rel}:{i}: anchor on a non-markdown file: {target}"); errors += 1; continue
                if anchor not in anchors(dest):
                    print(f"{rel}:{i}: missing anchor: {target}"); errors += 1
print(f"{len(files)} files, {count} links, {errors} problems")
sys.exit(1 if errors else 0)
