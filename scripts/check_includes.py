#!/usr/bin/env python3
"""Checks the dependency rule: a file may include only the headers of the targets it links.

Usage: scripts/check_includes.py [REPO_ROOT]

Every C++ file under queries/, adapter/ and test/ belongs to the CMake targets that list it
(ma_cc_library SRCS/HDRS, ma_cc_test and ma_fuzz_target SRCS, add_executable sources). For each
target the check reads its links from the CMakeLists.txt files (DEPS, PUBLIC_DEPS, and
target_link_libraries) and allows:

  - the target's own files;
  - the headers of every target it links directly (DEPS or PUBLIC_DEPS, private or public);
  - the headers of the public dependencies of those, transitively (PUBLIC_DEPS, and every dependency
    of a header-only library, which CMake hands on as INTERFACE).

That is exactly what CMake itself puts on the link line, so a file that passes the check can use
what it includes. A private dependency of a dependency is not allowed: if A links B and B links C
privately, A may not include C's headers (A would build only by accident of the link order).

Every `#include "queries/..."`, `"adapter/..."` or `"test/..."` is resolved to the target whose
HDRS (or SRCS) lists it. A header that no target lists is private to its directory: only the files
of the targets declared in that directory's CMakeLists.txt may include it, and its own includes
must be allowed for at least one of those targets. A .cc file that no target lists is an error.
Third-party headers are confined to the places docs/design.md names (the table THIRD_PARTY below).
Libraries declared under test/ may be linked only by tests, fuzz targets and other test/ targets,
not by a library or the binary.

Prints one `file:line: message` per violation and exits 1 if there is any; stdlib only.
"""

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

# Where each third-party library may be included: (include prefix, library, allowed path prefixes).
# A path prefix ending in "/" is a directory; anything else is one file. These are design decisions
# (docs/design.md, "Module boundaries"), not derived from CMake: change them there first.
THIRD_PARTY = [
    ("boost/", "Boost (Beast, Asio)", ["adapter/server/"]),
    ("curl/", "libcurl", ["adapter/outbound/"]),
    ("prometheus/", "prometheus-cpp", ["adapter/telemetry/"]),
    # Rules files (queries/config) and kubeconfig files are the only YAML we read.
    ("yaml-cpp/", "yaml-cpp", ["queries/config/", "adapter/kube/kubeconfig.cc"]),
    # Only the files that encode or decode JSON; adapter/json/ is the shared JSON module.
    ("rapidjson/", "RapidJSON", [
        "adapter/json/",
        "adapter/api/encode.cc",
        "adapter/auth/auth_json.cc",
        "adapter/kube/exec_credential.cc",
        "adapter/kube/object_decoder.cc",
        "adapter/objects/api_discovery.cc",
        "adapter/plugin/api_objects.cc",
        "adapter/prometheus/response_decoder.cc",
    ]),
    # TLS and certificates: the server, client-certificate and digest work in auth, test certificates.
    ("openssl/", "OpenSSL", ["adapter/server/", "adapter/auth/", "test/testing/"]),
    # The domain core has no sockets.
    ("sys/socket.h", "sockets", ["adapter/", "test/"]),
    ("netinet/", "sockets", ["adapter/", "test/"]),
    ("arpa/", "sockets", ["adapter/", "test/"]),
    ("netdb.h", "sockets", ["adapter/", "test/"]),
]

CODE_DIRS = ("queries/", "adapter/", "test/")
PROJECT_INCLUDE = re.compile(r'^\s*#\s*include\s*"((?:queries|adapter|test)/[^"]+)"')
ANY_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')


@dataclass
class Target:
    name: str  # canonical: "ma::x" for ma_cc_library, the plain name otherwise
    cmake_file: str
    line: int
    kind: str  # "library", "test", "fuzz" or "executable"
    files: set = field(default_factory=set)  # repository-relative paths
    public_deps: list = field(default_factory=list)
    private_deps: list = field(default_factory=list)
    header_only: bool = False

    def all_deps(self):
        return self.public_deps + self.private_deps

    def exported_deps(self):
        # What a user of this target gets linked too.
        return self.all_deps() if self.header_only else self.public_deps


def tracked_files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True,
                             capture_output=True).stdout.decode()
        files = [f for f in out.split("\0") if f]
        if files:
            return files
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for top in ("CMakeLists.txt",) + tuple(d.rstrip("/") for d in CODE_DIRS):
        path = os.path.join(root, top)
        if os.path.isfile(path):
            files.append(top)
        for dirpath, _, names in os.walk(path):
            files.extend(os.path.relpath(os.path.join(dirpath, n), root) for n in names)
    return files


def strip_comments(text):
    """Removes `# ...` comments (outside quotes) but keeps the line structure."""
    out = []
    for line in text.split("\n"):
        in_quote = False
        cut = len(line)
        for i, c in enumerate(line):
            if c == '"':
                in_quote = not in_quote
            elif c == "#" and not in_quote:
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


def commands(text):
    """Yields (command, args, line) for every top-level `command(args...)` of a CMake file."""
    text = strip_comments(text)
    for m in re.finditer(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(", text):
        start = m.end()
        depth, i = 1, start
        while i < len(text) and depth:
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
            i += 1
        body = text[start:i - 1]
        args = re.findall(r'"[^"]*"|[^\s"]+', body)
        yield m.group(1).lower(), [a.strip('"') for a in args], text.count("\n", 0, m.start()) + 1


def split_keywords(args, keywords):
    groups, current = {}, None
    for a in args:
        if a in keywords:
            current = a
            groups.setdefault(a, [])
        elif current:
            groups[current].append(a)
    return groups


def canonical(name):
    if name.startswith("ma_") and not name.startswith("ma::"):
        return "ma::" + name[3:]
    return name


def source_path(cmake_dir, src):
    src = src.replace("${CMAKE_CURRENT_SOURCE_DIR}/", "")
    src = src.replace("${PROJECT_SOURCE_DIR}/", "/").replace("${CMAKE_SOURCE_DIR}/", "/")
    if "$" in src:
        return None
    if src.startswith("/"):
        return os.path.normpath(src[1:])
    return os.path.normpath(os.path.join(cmake_dir, src))


def read_targets(root, files):
    targets = {}
    links = []  # target_link_libraries calls, applied once every target is known
    for cmake in sorted(f for f in files if os.path.basename(f) == "CMakeLists.txt"):
        cmake_dir = os.path.dirname(cmake)
        with open(os.path.join(root, cmake), encoding="utf-8") as f:
            text = f.read()
        for cmd, args, line in commands(text):
            if cmd in ("ma_cc_library", "ma_cc_test", "ma_fuzz_target"):
                g = split_keywords(args, {"NAME", "SRCS", "HDRS", "DEPS", "PUBLIC_DEPS"})
                if not g.get("NAME"):
                    continue
                name = g["NAME"][0]
                kind = {"ma_cc_library": "library", "ma_cc_test": "test",
                        "ma_fuzz_target": "fuzz"}[cmd]
                t = Target(canonical("ma_" + name) if kind == "library" else name, cmake, line,
                           kind)
                srcs = g.get("SRCS", [])
                t.header_only = kind == "library" and not srcs
                for s in srcs + g.get("HDRS", []):
                    p = source_path(cmake_dir, s)
                    if p:
                        t.files.add(p)
                if kind == "library":
                    t.public_deps = [canonical(d) for d in g.get("PUBLIC_DEPS", [])]
                    t.private_deps = [canonical(d) for d in g.get("DEPS", [])]
                else:
                    t.private_deps = [canonical(d) for d in g.get("DEPS", [])]
                targets[t.name] = t
            elif cmd == "add_executable" and args:
                t = Target(args[0], cmake, line, "executable")
                for s in args[1:]:
                    p = source_path(cmake_dir, s)
                    if p and os.path.splitext(p)[1] in (".cc", ".h"):
                        t.files.add(p)
                targets[t.name] = t
            elif cmd == "target_link_libraries" and args:
                links.append((canonical(args[0]), args[1:]))
    for name, args in links:
        t = targets.get(name)
        if t is None:
            continue
        visibility = "PRIVATE"
        for a in args:
            if a in ("PRIVATE", "PUBLIC", "INTERFACE"):
                visibility = a
            elif visibility == "PRIVATE":
                t.private_deps.append(canonical(a))
            else:
                t.public_deps.append(canonical(a))
    return targets


def allowed_targets(target, targets):
    """The target itself, its direct links, and their exported links, transitively."""
    allowed = {target.name}
    stack = list(target.all_deps())
    while stack:
        name = stack.pop()
        if name in allowed:
            continue
        allowed.add(name)
        dep = targets.get(name)
        if dep is not None:
            stack.extend(dep.exported_deps())
    return allowed


def third_party_rule(include):
    for prefix, library, places in THIRD_PARTY:
        if include == prefix or include.startswith(prefix) and prefix.endswith("/"):
            return library, places
    return None


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    files = tracked_files(root)
    targets = read_targets(root, files)
    owners = {}
    for t in targets.values():
        for f in t.files:
            owners.setdefault(f, []).append(t)

    problems = []
    code = sorted(f for f in files if f.startswith(CODE_DIRS) and f.endswith((".cc", ".h"))
                  and os.path.isfile(os.path.join(root, f)))

    for t in sorted(targets.values(), key=lambda t: t.name):
        if t.kind not in ("library", "executable") or t.cmake_file.startswith("test/"):
            continue
        for dep in t.all_deps():
            d = targets.get(dep)
            if d is not None and d.cmake_file.startswith("test/"):
                problems.append(f"{t.cmake_file}:{t.line}: {t.name} links the test-only target "
                                f"{dep} ({d.cmake_file})")

    by_dir = {}
    for t in targets.values():
        by_dir.setdefault(os.path.dirname(t.cmake_file), []).append(t)

    def owners_of(path):
        """(targets, listed): the targets that list path, else those of its directory."""
        if path in owners:
            return owners[path], True
        return by_dir.get(os.path.dirname(path), []), False

    allowed_cache = {}

    def allows(t, header_owners):
        if t.name not in allowed_cache:
            allowed_cache[t.name] = allowed_targets(t, targets)
        return any(o.name in allowed_cache[t.name] for o in header_owners)

    for f in code:
        file_targets, listed = owners_of(f)
        if not listed and f.endswith(".cc"):
            problems.append(f"{f}:1: not listed in any target's SRCS")
            continue
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            lines = fh.read().split("\n")
        for lineno, text in enumerate(lines, 1):
            m = ANY_INCLUDE.match(text)
            if not m:
                continue
            include = m.group(1)
            rule = third_party_rule(include)
            if rule:
                library, places = rule
                if not any(f == p or (p.endswith("/") and f.startswith(p)) for p in places):
                    problems.append(f"{f}:{lineno}: includes {library} ({include}), which only "
                                    f"{', '.join(places)} may include")
                continue
            if not PROJECT_INCLUDE.match(text):
                continue
            if not os.path.isfile(os.path.join(root, include)):
                problems.append(f"{f}:{lineno}: includes {include}: no such file")
                continue
            header_owners, header_listed = owners_of(include)
            # A listed file is compiled by each of its targets: each must allow the include. An
            # unlisted header needs only one of its directory's targets to allow it.
            if listed:
                failing = [t for t in file_targets if not allows(t, header_owners)]
            elif any(allows(t, header_owners) for t in file_targets):
                failing = []
            else:
                failing = file_targets[:1]
            for t in failing:
                if header_listed:
                    names = " or ".join(sorted(o.name for o in header_owners))
                    problems.append(f"{f}:{lineno}: includes {include} of {names}, which "
                                    f"{t.name} ({t.cmake_file}) does not link")
                else:
                    problems.append(f"{f}:{lineno}: includes {include}, which no target lists in "
                                    f"its HDRS: only its own directory may include it")

    for p in problems:
        print(p)
    if problems:
        print(f"check-includes: {len(problems)} problem(s); a target may include only the "
              "headers of the targets it links (docs/design.md, \"Module boundaries\")")
        return 1
    print(f"check-includes: ok ({len(code)} files, {len(targets)} targets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
