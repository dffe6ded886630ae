"""One owner per state machine: only moderation/lifecycle.py assigns Content.status and only
publishers/lifecycle.py assigns Delivery.status (and oversight/workorders/lifecycle.py
WorkOrder.status, reposts/lifecycle.py RepostTarget.status). This scans the source tree (tests and the
data generators of the benches and devkit/ excepted: they build fixtures in any state) for every other way of
writing either column."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {
    "moderation/lifecycle.py",
    "publishers/lifecycle.py",
    "oversight/workorders/lifecycle.py",
    "reposts/lifecycle.py",
}
SKIP = {"tests", "bench", "devkit", "node_modules", ".venv", ".git", "instance", "static", "templates"}
MODELS = {"Content", "Delivery", "WorkOrder", "RepostTarget"}
ENUMS = {"ContentStatus", "DeliveryStatus", "WorkOrderStatus", "RepostTargetStatus"}
#: what a new row may be created in (the lifecycles' INITIAL)
INITIAL = {"ContentStatus.draft", "DeliveryStatus.pending", "lifecycle.INITIAL", "INITIAL"}
OWNED_OBJECT = re.compile(r"content|deliver|member|order", re.IGNORECASE)
RAW_UPDATE = re.compile(
    r"update\s+(contents|deliveries|work_orders|repost_targets)\b[^;]*\bstatus\s*=", re.IGNORECASE | re.DOTALL
)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _imports_models(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom) and any(alias.name in MODELS for alias in node.names)
        for node in ast.walk(tree)
    )


def _status_targets(node: ast.stmt) -> list[ast.Attribute]:
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    flat: list[ast.expr] = []
    for target in targets:
        flat.extend(target.elts if isinstance(target, ast.Tuple | ast.List) else [target])
    return [t for t in flat if isinstance(t, ast.Attribute) and t.attr == "status"]


def _is_model_update(call: ast.Call) -> bool:
    """``update(Content)`` / ``sa.update(Delivery)`` / ``….query(Content)…update(…)``."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name == "update" and call.args and isinstance(call.args[0], ast.Name) and call.args[0].id in MODELS:
        return True
    if name in ("update", "bulk_update_mappings"):
        text = ast.unparse(call)
        return any(f"query({m}" in text or f"mappings({m}" in text for m in MODELS)
    return False


def _writes_status(stmt: ast.stmt) -> bool:
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call) and any(k.arg == "status" for k in node.keywords):
            return True
        if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "status" for k in node.keys):
            return True
    return False


def violations(source: str, path: str = "<snippet>") -> list[str]:
    """Every write of Content.status / Delivery.status in ``source`` (as "path:line: what")."""
    tree = ast.parse(source)
    models_here = _imports_models(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.stmt):
            for target in _status_targets(node):
                value = getattr(node, "value", None)
                if (
                    models_here
                    or OWNED_OBJECT.search(ast.unparse(target.value))
                    or (value is not None and _names(value) & ENUMS)
                ):
                    found.append(f"{path}:{line}: assigns {ast.unparse(target)}")
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.If | ast.For):
                calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
                if any(_is_model_update(c) for c in calls) and _writes_status(node):
                    found.append(f"{path}:{line}: UPDATE of status")
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Name)
                and func.id == "setattr"
                and models_here
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "status"
            ):
                found.append(f"{path}:{line}: setattr(…, 'status')")
            if isinstance(func, ast.Name) and func.id in MODELS:
                for keyword in node.keywords:
                    if keyword.arg == "status" and ast.unparse(keyword.value) not in INITIAL:
                        found.append(f"{path}:{line}: creates {func.id} in {ast.unparse(keyword.value)}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and RAW_UPDATE.search(node.value):
            found.append(f"{path}:{line}: raw SQL UPDATE of status")
    return found


def _sources() -> list[Path]:
    return [
        p
        for p in ROOT.rglob("*.py")
        if not (set(p.relative_to(ROOT).parts[:-1]) & SKIP) and p.relative_to(ROOT).as_posix() not in OWNERS
    ]


def test_only_the_lifecycle_modules_write_either_status() -> None:
    paths = _sources()
    assert len(paths) > 50  # the scan really reads the tree
    found = [v for p in paths for v in violations(p.read_text(encoding="utf-8"), p.relative_to(ROOT).as_posix())]
    assert found == []


def test_the_owners_themselves_are_what_the_scan_would_catch() -> None:
    """The scan sees the lifecycle modules' own writes: it would catch them anywhere else."""
    for owner in OWNERS:
        assert violations((ROOT / owner).read_text(encoding="utf-8"), owner), owner


@pytest.mark.parametrize(
    "snippet",
    [
        "content.status = ContentStatus.draft",
        "member.status = target",
        "delivery.content.status = ContentStatus.publishing",
        "x.status = DeliveryStatus.sent",
        "from moderation.models import Content\nc.status = new",
        "from publishers.models import Delivery\nsetattr(d, 'status', new)",
        "db.session.execute(sa.update(Content).where(Content.id == 1).values(status=new))",
        "db.session.execute(update(Delivery).values(status=DeliveryStatus.cancelled))",
        "stmt = sa.update(Delivery).where(x).values({'status': s})",
        "db.session.query(Content).filter_by(id=1).update({'status': 'draft'})",
        "db.session.execute(sa.text('UPDATE deliveries SET attempts = 0, status = :s WHERE id = :i'))",
        "Delivery(content_id=1, status=DeliveryStatus.sent)",
        "Content(title='x', status=ContentStatus.approved)",
        "target.status = RepostTargetStatus.done",
        "RepostTarget(task_id=1, status=RepostTargetStatus.overdue)",
        "db.session.execute(sa.text('UPDATE repost_targets SET status = :s'))",
    ],
)
def test_the_scan_catches(snippet: str) -> None:
    assert violations(snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        "account.status = transition.target",
        "job.status = 'running'",
        "finding.status = FindingStatus.open",
        "db.session.execute(sa.update(Delivery).where(x).values(enqueued_at=now))",
        "Delivery(content_id=1, status=lifecycle.INITIAL)",
        "Content(title='x', status=ContentStatus.draft)",
        "q = sa.select(Content).where(Content.status == ContentStatus.approved)",
    ],
)
def test_the_scan_leaves_alone(snippet: str) -> None:
    assert violations(snippet) == []
