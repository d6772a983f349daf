#!/usr/bin/env python3
"""The architecture check: fails when a crate's module graph has a cycle,
when an http-actix module imports a layer above it or another feature, or
when a crate depends on a workspace crate it must not.

Modules are files (src/a.rs and src/a/mod.rs are `a`, src/a/b.rs is
`a::b`). An edge A -> B is a path in A that names B: `use crate::b::…`,
`super::b`, `crate::b::f()` in code. Declaring a child (`mod b;`) is not an
edge. `#[cfg(test)] mod tests` at the end of a file is not part of the
shipping graph and is skipped.

    python3 .ci/module-graph.py          # check, print the graphs' sizes
    python3 .ci/module-graph.py --dot    # also print each graph as DOT
"""

import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent

# http-actix's layers, lowest first. A module may import a lower layer or
# its own layer, except that a feature never imports another feature.
HTTP_LAYERS = {
    "leaf": {"config", "instants", "logging", "metrics", "outcome", "params", "peer", "proxies", "problem", "tokens", "wake"},
    "error": {"error"},
    "shared": {"guard", "middleware"},
    "feature": {"ingest", "read", "ops", "jobs", "subscriptions"},
    "top": {"routes", "startup"},
}
RANK = {name: i for i, name in enumerate(HTTP_LAYERS)}

# Which workspace crates each crate may depend on (normal dependencies).
ALLOWED_DEPS = {
    "hookbox-domain": set(),
    "hookbox-store-kit": {"hookbox-domain"},
    "hookbox-sqlite": {"hookbox-domain", "hookbox-store-kit"},
    "hookbox-postgres": {"hookbox-domain", "hookbox-store-kit"},
    "hookbox-forwarder": {"hookbox-domain"},
    "hookbox-http": {"hookbox-domain", "hookbox-forwarder"},
    "hookbox": {"hookbox-domain", "hookbox-http", "hookbox-sqlite", "hookbox-postgres"},
    "hookbox-testkit": {"hookbox-domain"},
}


def module_of(src: pathlib.Path, file: pathlib.Path) -> tuple[str, ...]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts in (["lib"], ["main"]):
        return ()
    if parts[-1] == "mod":
        parts.pop()
    return tuple(parts)


def strip(text: str) -> str:
    """Source without comments, strings and the trailing test module."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#+".*?"#+', '""', text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text, flags=re.S)
    test = re.search(r"#\[cfg\(test\)\]\s*(pub(\([a-z]+\))?\s+)?mod\s+\w+\s*\{", text)
    return text[: test.start()] if test else text


def expand(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = tree.strip()
    brace = tree.find("{")
    if brace < 0:
        return [re.split(r"\s+as\s+", tree)[0].strip()]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rindex("}")]
    items, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    out = []
    for item in items:
        if item.strip():
            out.extend(prefix + p for p in expand(item))
    return out


def paths_in(text: str) -> list[str]:
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        paths.extend(expand(m.group(1)))
    # Paths in code: crate::…, super::…, self::…, and child::… (resolved
    # only when `child` is a module of the one the path is in).
    paths.extend(m.group(0) for m in re.finditer(r"(?<![\w:])[a-z_]\w*(?:::\w+)+", text))
    return paths


def resolve(here: tuple[str, ...], path: str, modules: set, reexports: dict | None = None) -> tuple[str, ...] | None:
    parts = [p for p in path.replace(" ", "").split("::") if p]
    if not parts:
        return None
    if parts[0] == "crate":
        base, rest = [], parts[1:]
    elif parts[0] in ("super", "self"):
        base = list(here)
        rest = parts
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super" and base:
                base.pop()
            rest = rest[1:]
    elif tuple(here) + (parts[0],) in modules:
        # A path relative to this module (`use child::Item;`).
        base, rest = list(here), parts
    else:
        return None
    full = base + rest
    for n in range(len(full), -1, -1):
        if tuple(full[:n]) in modules:
            found = tuple(full[:n])
            # An item a facade re-exports: the edge goes to where it lives.
            if reexports and n < len(full):
                found = reexports.get((found, full[n]), found)
            return found
    return None


def reexports_of(files: dict, modules: set) -> dict:
    """(facade module, name) -> the module the name is re-exported from."""
    out = {}
    for mod, file in files.items():
        text = strip(file.read_text())
        for m in re.finditer(r"\bpub(?:\([a-z]+\))?\s+use\s+([^;]+);", text):
            for path in expand(m.group(1)):
                parts = [p for p in path.replace(" ", "").split("::") if p]
                target = resolve(mod, path, modules)
                if target is not None and target != mod and parts:
                    out[(mod, parts[-1])] = target
    return out


def graph(src: pathlib.Path) -> dict:
    files = {module_of(src, f): f for f in sorted(src.rglob("*.rs")) if "bin" not in f.relative_to(src).parts}
    modules = set(files)
    edges = {m: set() for m in modules}
    reexports = reexports_of(files, modules)
    for mod, file in files.items():
        for path in paths_in(strip(file.read_text())):
            target = resolve(mod, path, modules, reexports)
            if target is not None and target != mod:
                edges[mod].add(target)
    return edges


def cycles(edges: dict) -> list[list]:
    """Tarjan's strongly connected components of more than one module."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def name(m: tuple) -> str:
    return "::".join(m) or "crate"


def layer_of(m: tuple) -> str | None:
    if not m:
        return None
    for layer, tops in HTTP_LAYERS.items():
        if m[0] in tops:
            return layer
    return "unknown"


def http_rules(edges: dict) -> list[str]:
    problems = []
    for src, targets in sorted(edges.items()):
        a = layer_of(src)
        if a is None:
            continue
        if a == "unknown":
            problems.append(f"http-actix: module {name(src)} is in no layer; add it to HTTP_LAYERS")
            continue
        for dst in sorted(targets):
            b = layer_of(dst)
            if b is None:
                problems.append(f"http-actix: {name(src)} imports the crate root")
            elif a == b == "feature" and dst[0] != src[0]:
                problems.append(f"http-actix: feature {src[0]} imports feature {dst[0]} ({name(src)} -> {name(dst)})")
            elif dst[0] == src[0] or a == b:
                continue
            elif b == "unknown" or RANK[b] > RANK[a]:
                problems.append(f"http-actix: {name(src)} ({a}) imports {name(dst)} ({b}), a layer not below it")
    return problems


def dependency_rules() -> list[str]:
    problems = []
    for manifest in sorted((ROOT / "crates").glob("*/Cargo.toml")):
        data = tomllib.loads(manifest.read_text())
        pkg = data["package"]["name"]
        internal = {d for d in data.get("dependencies", {}) if d.startswith("hookbox")}
        allowed = ALLOWED_DEPS.get(pkg)
        if allowed is None:
            continue
        for dep in sorted(internal - allowed):
            problems.append(f"{pkg} must not depend on {dep} ({manifest.relative_to(ROOT)})")
    return problems


def main() -> int:
    dot = "--dot" in sys.argv
    problems = dependency_rules()
    for manifest in sorted((ROOT / "crates").glob("*/Cargo.toml")):
        src = manifest.parent / "src"
        if not src.is_dir():
            continue
        edges = graph(src)
        crate = manifest.parent.name
        for comp in cycles(edges):
            problems.append(f"{crate}: import cycle: {' -> '.join(name(m) for m in comp)}")
        if crate == "http-actix":
            problems.extend(http_rules(edges))
        n = sum(len(t) for t in edges.values())
        print(f"{crate}: {len(edges)} modules, {n} imports")
        if dot:
            print(f'digraph "{crate}" {{')
            for s, ts in sorted(edges.items()):
                for t in sorted(ts):
                    print(f'  "{name(s)}" -> "{name(t)}";')
            print("}")
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    if problems:
        return 1
    print("module graph: no cycles, layers respected, crate dependencies as allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
