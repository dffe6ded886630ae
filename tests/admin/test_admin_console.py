"""系统管理 pages: unit tree (rename with history, move without cycles, deactivate), users
(roles, password, deactivation ends sessions and tokens), the checks' dictionaries (validated,
versioned, reloaded), Chinese error pages and each role's landing page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from audit.models import AuditEntry
from auth.models import ApiToken, Role, User, UserRole
from auth.service import issue_token
from moderation.checks import default_pipeline, reset_default_pipeline
from tests.conftest import PASSWORD


def _login(client: Any, user: Any) -> Any:
    return client.post("/login", data={"username": user.username, "password": PASSWORD})


@pytest.fixture
def admin_client(client: Any, make_user: Any) -> Any:
    admin = make_user(Role.admin)
    _login(client, admin)
    client.admin = admin
    return client


def test_only_admins_reach_the_console_and_the_403_is_readable(client: Any, make_user: Any) -> None:
    _login(client, make_user(Role.operator))
    response = client.get("/admin/users")
    assert response.status_code == 403
    text = response.get_data(as_text=True)
    assert "需要以下角色之一：管理员" in text
    assert "required_roles" not in text and "{" not in text.split("<main", 1)[1].split("</main>")[0]


def test_console_links_to_the_credentials_overview(admin_client: Any) -> None:
    page = admin_client.get("/admin/")
    assert page.status_code == 200
    assert 'href="/publishing/credentials"' in page.get_data(as_text=True)
    assert admin_client.get("/publishing/credentials").status_code == 200


def test_unknown_pages_answer_in_chinese(client: Any, make_user: Any) -> None:
    _login(client, make_user(Role.operator))
    response = client.get("/no-such-page")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "Not Found" not in text and "对象不存在" in text
    assert client.get("/users").status_code == 302 and client.get("/units").status_code == 302
    assert client.get("/users", follow_redirects=True).status_code == 403  # not an admin: Chinese 403


def test_unit_move_refuses_a_cycle_and_changes_nothing(admin_client: Any, make_unit: Any, db_session: Any) -> None:
    county = make_unit("甲县人民政府")
    bureau = make_unit("甲县教育局", parent=county)
    school = make_unit("甲县第一中学", parent=bureau)
    db_session.commit()  # arranged state survives the refused request's rollback
    response = admin_client.post(f"/admin/units/{county.id}/move", data={"parent_id": str(school.id)})
    assert response.status_code == 422
    assert "上级单位不能是本单位或其下级单位" in response.get_data(as_text=True)
    db_session.expire_all()
    assert county.parent_id is None
    response = admin_client.post(f"/admin/units/{county.id}/move", data={"parent_id": str(county.id)})
    assert response.status_code == 422

    other = make_unit("乙县人民政府")
    assert admin_client.post(f"/admin/units/{bureau.id}/move", data={"parent_id": str(other.id)}).status_code == 302
    db_session.expire_all()
    assert bureau.parent_id == other.id


def test_unit_rename_keeps_history_with_names(admin_client: Any, make_unit: Any, db_session: Any) -> None:
    unit = make_unit("丙县环保局")
    db_session.commit()
    response = admin_client.post(f"/admin/units/{unit.id}/rename", data={"name": "丙县生态环境局"})
    assert response.status_code == 302
    page = admin_client.get(f"/admin/units/{unit.id}").get_data(as_text=True)
    assert "丙县生态环境局" in page
    history = page.split("变更历史", 1)[1]
    assert "更名" in history and '<del class="diff-del">丙县环保局</del>' in history
    assert "测试用户" in history  # the admin's display name, not a login name
    taken = make_unit("丙县财政局")
    db_session.commit()
    response = admin_client.post(f"/admin/units/{unit.id}/rename", data={"name": taken.name})
    assert response.status_code == 409 and "单位名称已存在" in response.get_data(as_text=True)


def test_unit_deactivation_refused_while_in_use(
    admin_client: Any, make_unit: Any, make_user: Any, db_session: Any
) -> None:
    unit = make_unit("丁县档案局")
    person = make_user(Role.operator, unit=unit)
    db_session.commit()
    response = admin_client.post(f"/admin/units/{unit.id}/deactivate")
    assert response.status_code == 409 and "还有在用的用户" in response.get_data(as_text=True)
    assert admin_client.post(f"/admin/users/{person.id}/deactivate").status_code == 302
    assert admin_client.post(f"/admin/units/{unit.id}/deactivate").status_code == 302
    db_session.expire_all()
    assert unit.is_active is False
    # a deactivated unit takes no new users or sub-units
    response = admin_client.post(
        "/admin/users",
        data={
            "username": "newbie",
            "display_name": "新人",
            "unit_id": str(unit.id),
            "roles": ["operator"],
            "password": "x" * 10,
        },
    )
    assert response.status_code == 422
    response = admin_client.post("/admin/units", data={"name": "下级", "parent_id": str(unit.id), "kind": "department"})
    assert response.status_code == 422


def test_create_user_with_roles_and_bad_input(admin_client: Any, make_unit: Any, db_session: Any) -> None:

    unit = make_unit("戊县人民政府")
    db_session.commit()
    data = {
        "username": "wang",
        "display_name": "王审核",
        "unit_id": str(unit.id),
        "roles": ["reviewer_2"],
        "password": "short",
    }
    response = admin_client.post("/admin/users", data=data)
    assert response.status_code == 422 and "密码至少 8 位" in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(User).where(User.username == "wang")) is None
    response = admin_client.post("/admin/users", data={**data, "roles": [], "password": "long-enough-1"})
    assert response.status_code == 422 and "至少需要一个角色" in response.get_data(as_text=True)
    assert admin_client.post("/admin/users", data={**data, "password": "long-enough-1"}).status_code == 302
    user = db_session.scalar(sa.select(User).where(User.username == "wang"))
    assert user.roles == {Role.reviewer_2} and user.display_name == "王审核"


def test_deactivation_ends_sessions_and_revokes_tokens(
    app: Any, admin_client: Any, make_user: Any, db_session: Any
) -> None:

    operator = make_user(Role.operator)
    token, _ = issue_token(operator)
    other = app.test_client()
    _login(other, operator)
    assert other.get("/contents").status_code == 200
    assert other.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    assert admin_client.post(f"/admin/users/{operator.id}/deactivate").status_code == 302
    assert other.get("/contents").status_code == 302  # the session is gone: back to login
    assert other.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    live = db_session.scalar(
        sa.select(sa.func.count()).where(ApiToken.user_id == operator.id, ApiToken.revoked_at.is_(None))
    )
    assert live == 0
    assert _login(app.test_client(), operator).status_code == 401


def test_last_admin_cannot_be_removed(admin_client: Any, db_session: Any) -> None:

    admins = db_session.scalars(
        sa.select(User).join(UserRole).where(UserRole.role == Role.admin, User.is_active.is_(True))
    ).all()
    for other in admins:
        if other.id != admin_client.admin.id:
            other.is_active = False
    db_session.commit()
    me = admin_client.admin
    response = admin_client.post(f"/admin/users/{me.id}/roles", data={"roles": ["auditor"]})
    assert response.status_code == 409 and "最后一个在用的管理员" in response.get_data(as_text=True)
    response = admin_client.post(f"/admin/users/{me.id}/deactivate")
    assert response.status_code == 409


def test_password_reset_ends_sessions(app: Any, admin_client: Any, make_user: Any, db_session: Any) -> None:
    person = make_user(Role.auditor)
    db_session.commit()
    other = app.test_client()
    _login(other, person)
    assert other.get("/").status_code == 200
    mismatch = admin_client.post(
        f"/admin/users/{person.id}/password", data={"password": "new-pass-123", "password_again": "x"}
    )
    assert mismatch.status_code == 422
    ok = admin_client.post(
        f"/admin/users/{person.id}/password", data={"password": "new-pass-123", "password_again": "new-pass-123"}
    )
    assert ok.status_code == 302
    assert other.get("/").status_code == 302
    assert (
        app.test_client().post("/login", data={"username": person.username, "password": "new-pass-123"}).status_code
        == 302
    )


@pytest.fixture
def office_dir(app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:

    monkeypatch.setitem(app.config, "CHECKS_DATA_DIR", str(tmp_path))
    reset_default_pipeline()
    yield tmp_path
    reset_default_pipeline()


def test_dictionary_edit_is_validated_versioned_and_reloaded(
    admin_client: Any, office_dir: Path, db_session: Any
) -> None:

    page = admin_client.get("/admin/dictionaries/serious_errors.tsv").get_data(as_text=True)
    assert "严重表述错误" in page and "中华人民共合国" in page
    assert not default_pipeline().check_text("请勿写成示范县攻务院")

    original = (Path(__file__).resolve().parents[2] / "moderation/data/serious_errors.tsv").read_text(encoding="utf-8")
    bad = original + "只有一列\n"
    response = admin_client.post("/admin/dictionaries/serious_errors.tsv", data={"text": bad})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "serious_errors.tsv 第" in text and "未保存" in text
    assert not (office_dir / "serious_errors.tsv").exists()

    good = original + "攻务院\t国务院\torgan_name\tblock\n"
    response = admin_client.post("/admin/dictionaries/serious_errors.tsv", data={"text": good, "note": "增加错写"})
    assert response.status_code == 302
    assert (office_dir / "serious_errors.tsv").read_text(encoding="utf-8") == good
    [finding] = [f for f in default_pipeline().check_text("请勿写成示范县攻务院") if f.kind == "serious_error"]
    assert finding.suggestion == "国务院"

    page = admin_client.get("/admin/dictionaries/serious_errors.tsv").get_data(as_text=True)
    assert "增加错写" in page and "首次在管理台修改前的内容" in page
    versions = sorted((office_dir / ".history" / "serious_errors.tsv").glob("*.txt"))
    assert len(versions) == 2
    version_page = admin_client.get(f"/admin/dictionaries/serious_errors.tsv/versions/{versions[-1].stem}")
    assert "增加：攻务院" in version_page.get_data(as_text=True)

    # restoring the first version takes the word out again
    response = admin_client.post(f"/admin/dictionaries/serious_errors.tsv/versions/{versions[0].stem}/restore")
    assert response.status_code == 302
    assert not [f for f in default_pipeline().check_text("请勿写成示范县攻务院") if f.kind == "serious_error"]
    actions = db_session.scalars(
        sa.select(AuditEntry.after).where(AuditEntry.action == "checks:dictionary:update")
    ).all()
    assert len(actions) == 2 and actions[0]["lines_added"] == 1


def test_dictionary_is_read_only_without_an_office_dir(admin_client: Any, app: Any, monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "CHECKS_DATA_DIR", "")
    page = admin_client.get("/admin/dictionaries").get_data(as_text=True)
    assert "只能查看" in page
    response = admin_client.post("/admin/dictionaries/sensitive_terms.txt", data={"text": "新词\n"})
    assert response.status_code == 409 and "GOVMEDIA_CHECKS_DATA_DIR" in response.get_data(as_text=True)
    assert admin_client.get("/admin/dictionaries/../config.py").status_code == 404


@pytest.mark.parametrize(
    ("roles", "landing"),
    [
        ((Role.reviewer_2,), "/review"),
        ((Role.operator,), "/contents"),
        ((Role.auditor,), "/findings/"),
        ((Role.admin,), "/admin/"),
        ((Role.auditor, Role.admin), "/findings/"),
    ],
)
def test_each_role_lands_on_its_own_work(client: Any, make_user: Any, roles: tuple[Role, ...], landing: str) -> None:
    response = _login(client, make_user(*roles))
    assert response.status_code == 302
    assert response.headers["Location"] == landing
    assert client.get(landing).status_code == 200
