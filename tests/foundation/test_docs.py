"""The README and docs/ tell the truth about the tree: a cheap guard against drift.

- relative links between the documents point at files (and headings) that exist;
- repository paths named in backticks (`oversight/inspection/service.py`) exist;
- every `flask …` command the README shows exists, with the options it shows;
- every `METHOD /api/v1/…` the documents name is a route with that method, in the OpenAPI document;
- the README's configuration table and config.py name the same environment variables.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)
# Files and folders written or downloaded at run time, not kept in the repository.
GENERATED = ("instance/", "test-output/", ".venv/", "node_modules/")
PLACEHOLDER = re.compile(r"[<>{}*…|]|\.\.\.|\b[A-Z]{3,}\b")


def _text(doc: Path) -> str:
    return doc.read_text(encoding="utf-8")


def _rel(doc: Path) -> str:
    return doc.relative_to(ROOT).as_posix()


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"<[^>]+>", "", heading).replace("`", "").strip().lower()
    kept = (ch for ch in heading if ch in " -_" or unicodedata.category(ch)[0] in "LNM")
    return "".join(kept).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", _text(doc), flags=re.M | re.S)
    return {_slug(h) for h in HEADING.findall(text)}


def test_relative_links_point_at_files_and_headings_that_exist() -> None:
    broken = []
    for doc in DOCS:
        for target in LINK.findall(_text(doc)):
            if re.match(r"[a-z]+:", target):  # http(s), mailto
                continue
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            if not dest.exists():
                broken.append(f"{_rel(doc)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor.lower() not in _anchors(dest):
                broken.append(f"{_rel(doc)}: {target} (no such heading)")
    assert broken == []


def test_every_document_in_docs_is_reachable_from_the_readme() -> None:
    linked = {target.partition("#")[0] for target in LINK.findall(_text(ROOT / "README.md"))}
    assert sorted(_rel(doc) for doc in DOCS[1:] if _rel(doc) not in linked) == []


def _top_level() -> set[str]:
    return {p.name for p in ROOT.iterdir() if not p.name.startswith(".")} | {".ci"}


def _repo_paths(text: str) -> set[str]:
    """Backticked words that name a file or folder of the repository."""
    top = _top_level()
    found = set()
    for code in CODE.findall(text):
        for raw in code.split():
            word = raw.strip("()[],;:，、。")
            path = word.split("::")[0].split("#")[0].rstrip("/")
            if not path or PLACEHOLDER.search(path) or path.startswith(GENERATED):
                continue
            if "/" in path and path.split("/")[0] in top and re.fullmatch(r"[\w./-]+", path):
                found.add(word.rstrip("/"))
            elif "/" not in path and re.fullmatch(r"[\w-]+\.(py|md|toml|yml|txt|json|ini)", path) and path in top:
                found.add(path)
    return found


def test_repository_paths_named_in_the_documents_exist() -> None:
    missing = []
    for doc in DOCS:
        for word in sorted(_repo_paths(_text(doc))):
            path, _, test = word.partition("::")
            file = ROOT / path
            module = re.fullmatch(r"([\w/]+)\.\w+", path)  # `auth/ratelimit_storage.SqlStorage`
            if not file.exists() and module and (ROOT / f"{module.group(1)}.py").exists():
                continue
            if not file.exists():
                missing.append(f"{_rel(doc)}: {word}")
            elif test and not re.search(rf"def {re.escape(test.split('[')[0])}\b", file.read_text(encoding="utf-8")):
                missing.append(f"{_rel(doc)}: {word} (no such test)")
    assert missing == []


# ----------------------------------------------------------------------------- flask commands

FLASK = re.compile(r"\bflask (?:--app app )?((?:[\w|-]+|\[[^\]]*\]| \| |[^\S\n])+)")


def _flask_lines(text: str) -> list[str]:
    """The text after `flask` in every README code line and inline code that runs one."""
    lines = []
    for block in re.findall(r"^```(?:bash|sh)?\n(.*?)^```", text, re.M | re.S):
        lines += [line.split("  #")[0] for line in block.splitlines() if line.lstrip().startswith("flask ")]
    lines += [code for code in CODE.findall(text) if code.startswith("flask ") and "…" not in code.split()[1]]
    return [line.strip().removeprefix("flask ").removeprefix("--app app ") for line in lines]


def _resolve(cli: click.Group, words: list[str]) -> list[tuple[str, click.Command | None, list[str]]]:
    """Follow `group sub|other sub2 ARGS --opt …` to the commands it names, with the rest of the line."""
    ctx = click.Context(cli)
    todo: list[tuple[str, click.Command, list[str]]] = [("", cli, words)]
    done = []
    while todo:
        name, cmd, rest = todo.pop()
        if not isinstance(cmd, click.Group) or not rest:
            done.append((name, cmd, rest))
            continue
        head, tail = rest[0], rest[1:]
        if "…" in head:  # `flask users …`: any of the group's commands
            continue
        while tail[:1] == ["|"] and len(tail) > 1:  # "robot-list | robot-disable ID"
            head, tail = f"{head}|{tail[1]}", tail[2:]
        for word in head.split("|"):
            sub = cmd.get_command(ctx, word)
            if sub is None:
                done.append((f"{name} {word}".strip(), None, tail))
            else:
                todo.append((f"{name} {word}".strip(), sub, tail))
    return done


def test_every_flask_command_in_the_documents_exists_with_its_options(app: Any) -> None:
    problems = []
    assert len(_flask_lines(_text(ROOT / "README.md"))) > 30
    lines = [line for doc in DOCS for line in _flask_lines(_text(doc))]
    for line in lines:
        for name, cmd, rest in _resolve(app.cli, line.split()):
            if cmd is None:
                problems.append(f"flask {line}: no command `{name}`")
                continue
            if isinstance(cmd, click.Group):
                continue
            known = {opt for param in cmd.params for opt in param.opts if opt.startswith("-")} | {"--help"}
            for opt in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", " ".join(rest)):
                if opt not in known:
                    problems.append(f"flask {line}: `{name}` has no option {opt}")
    assert problems == []


def test_the_production_install_commands_are_real_commands(app: Any) -> None:
    """The README's empty-database install names exactly these commands, in this order."""
    text = _text(ROOT / "README.md")
    section = text.split("### 生产安装（空数据库）")[1].split("\n## ")[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block
    commands = [line.split()[3] for line in block.group(1).splitlines() if line.startswith("flask --app app ")]
    assert commands[:2] == ["db", "bootstrap"]
    for line in block.group(1).splitlines():
        if line.startswith("flask "):
            assert all(cmd is not None for _, cmd, _ in _resolve(app.cli, line.split()[3:])), line


def _shell_words(text: str) -> str:
    """Code blocks and inline code: where a document shows something to type."""
    return "\n".join(re.findall(r"^```[\w-]*\n(.*?)^```", text, re.M | re.S) + CODE.findall(text))


def test_make_targets_and_python_modules_in_the_documents_exist() -> None:
    targets = set(re.findall(r"^([\w-]+):", _text(ROOT / "Makefile"), re.M))
    problems = []
    for doc in DOCS:
        code = _shell_words(_text(doc))
        for words in re.findall(r"(?<![\w-])make ((?:[a-z][\w-]* ?)+)", code):
            problems += [f"{_rel(doc)}: make {word}" for word in words.split() if word not in targets]
        for module in set(re.findall(r"python -m ([a-z][\w.]*)", code)):
            if importlib.util.find_spec(module) is None:
                problems.append(f"{_rel(doc)}: python -m {module}")
    assert problems == []


def test_bench_options_in_the_documents_exist() -> None:
    """A line about one benchmark names only options its script takes (`bench/load.py` `--backend`)."""
    problems = []
    for doc in DOCS:
        for line in _text(doc).splitlines():
            scripts = set(re.findall(r"bench/(\w+)\.py", line))
            if len(scripts) != 1:
                continue
            script = scripts.pop()
            source = _text(ROOT / "bench" / f"{script}.py")
            for option in set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", " ".join(CODE.findall(line)))):
                if f'"{option}"' not in source:
                    problems.append(f"{_rel(doc)}: bench/{script}.py {option}")
    assert problems == []


# ----------------------------------------------------------------------------- API paths

API = re.compile(r"`((?:GET|POST|PUT|PATCH|DELETE)(?:[/|](?:GET|POST|PUT|PATCH|DELETE))*) (/api/v1/[^`\s?#]*)")


def _route_pattern(rule: str) -> re.Pattern[str]:
    parts = re.split(r"<[^>]*>", rule.rstrip("/"))
    return re.compile("^" + "[^/]+".join(re.escape(part) for part in parts) + "/?$")


def _expand(path: str) -> list[str]:
    """`/findings/{id}/actions/{confirm|dismiss}` and `…/template.xlsx|template.csv` name several paths."""
    path = re.sub(r"\{[a-z_]*id\}|\{[a-z_]+\}(?=/|$)", "1", path)
    alternatives = re.search(r"\{([^}]*\|[^}]*)\}|([\w.-]+(?:\|[\w.-]+)+)$", path)
    if not alternatives:
        return [path]
    group = alternatives.group(0)
    return [path.replace(group, option) for option in group.strip("{}").split("|")]


def test_every_api_path_in_the_documents_is_a_route_in_the_openapi_document(app: Any) -> None:
    routes = [(_route_pattern(rule.rule), rule.methods or set()) for rule in app.url_map.iter_rules()]
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = [
        (_route_pattern(re.sub(r"\{[^}]+\}", "<x>", path)), {method.upper() for method in ops})
        for path, ops in spec["paths"].items()
    ]
    missing = []
    for doc in DOCS:
        for methods, raw in API.findall(_text(doc)):
            for path in _expand(raw):
                for method in re.split(r"[/|]", methods):
                    if not any(rx.match(path) and method in allowed for rx, allowed in routes):
                        missing.append(f"{_rel(doc)}: {method} {raw} (no route)")
                    elif path != "/api/v1/openapi.json" and not any(
                        rx.match(path) and method in allowed for rx, allowed in documented
                    ):
                        missing.append(f"{_rel(doc)}: {method} {raw} (not in the OpenAPI document)")
    assert missing == []


# ----------------------------------------------------------------------------- configuration

READERS = r"(?:env|_int|_positive|_flag|_url|_hour|_choice|_quiet_hours|_json_object|_bool|_holidays_file)"
# Read by the launchers, not config.py: `make run`'s web port (devserver.py).
LAUNCHER_SETTINGS = {"PORT"}


def _config_variables() -> set[str]:
    source = _text(ROOT / "config.py")
    names = set(re.findall(rf'{READERS}\(\s*"([A-Z][A-Z0-9_]+)"', source))
    names |= set(re.findall(r'name: str = "([A-Z][A-Z0-9_]+)"', source))
    return names


def _config_rows() -> list[str]:
    section = _text(ROOT / "README.md").split("## 配置 / Configuration")[1].split("\n## ")[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def _readme_variables() -> tuple[set[str], list[str]]:
    names: set[str] = set()
    prefixes = []
    for line in _config_rows():
        last = ""
        for name in re.findall(r"`([A-Z_][A-Z0-9_]*\*?)`", line.split("|")[1]):
            if name.endswith("*"):
                prefixes.append(name[:-1])
            elif name.startswith("_"):  # `WECHAT_COMPONENT_APPID` / `_APPSECRET`
                names.add(last.rsplit("_", 1)[0] + name)
            else:
                names.add(name)
                last = name
    return names, prefixes


def test_the_readme_configuration_table_lists_what_config_reads() -> None:
    read = _config_variables()
    listed, prefixes = _readme_variables()
    assert len(read) > 100
    undocumented = sorted(n for n in read if n not in listed and not any(n.startswith(p) for p in prefixes))
    assert undocumented == [], "config.py reads these; add them to README's 配置 / Configuration table"
    unread = sorted(listed - read - LAUNCHER_SETTINGS)
    assert unread == [], "the README lists these; config.py does not read them"
    by_prefix = sorted(n for n in read - listed if any(n.startswith(p) for p in prefixes))
    monitoring = _text(ROOT / "docs" / "monitoring.md")  # where the `INSPECTION_*` row points
    assert [n for n in by_prefix if n not in monitoring] == []
    firsts = [row.split("|")[1].strip() for row in _config_rows()]
    assert sorted({f for f in firsts if firsts.count(f) > 1}) == [], "one row per variable"


def test_compose_processes_share_the_media_and_dictionary_folders() -> None:
    """The web stores an upload and the worker sends it: with docker-compose they must see one folder."""
    services = yaml.safe_load(_text(ROOT / "docker-compose.yml"))["services"]
    for name in ("web", "worker", "scheduler"):
        env, mounts = services[name]["environment"], services[name].get("volumes", [])
        for setting in ("MEDIA_DIR", "GOVMEDIA_CHECKS_DATA_DIR"):
            assert any(mount.endswith(f":{env[setting]}") for mount in mounts), (name, setting)


@pytest.mark.parametrize(
    ("heading", "slug"),
    [("巡检 / Inspection", "巡检--inspection"), ("Checks that keep the layout", "checks-that-keep-the-layout")],
)
def test_anchor_slugs_follow_github(heading: str, slug: str) -> None:
    assert _slug(heading) == slug
