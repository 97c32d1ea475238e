"""The audit log: who read a complainant's contact, who issued or revoked a token, who replaced the
street's people; read by admins (their streets only) over HTTP and by the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from apikit import V1, Api, assert_error
from chengyun.bootstrap import Center
from chengyun.cli import main
from chengyun.domain.access import Role


def log(api: Api, who: str = "admin", **params: str) -> list[dict[str, object]]:
    response = api.get("/audit", who, params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_reading_a_complainants_contact_is_logged_for_who_sees_it_and_only_them(api: Api) -> None:
    order_id = api.create()["id"]
    api.order(order_id, "desk")  # the hotline desk sees the contact
    api.order(order_id, "patrol")  # a patrol observer sees it masked: nothing to log
    api.get("/orders", "director")  # in a list too
    viewed = log(api, action="contact_viewed")
    assert [(e["actor_name"], e["role"], e["subject"]) for e in viewed] == [
        ("张燕芬", "director", f"order:{order_id}"),
        ("孙丽", "hotline_handler", f"order:{order_id}"),
    ]
    assert viewed[0]["action_label"] == "查看诉求人联系方式" and viewed[0]["streets"] == ["T"]


def test_tokens_issued_and_revoked_and_people_replaced_are_logged(api: Api) -> None:
    issued = api.post("/tokens", "admin", json={"role": "duty_officer", "staff_id": "O1"}).json()
    assert api.delete(f"/tokens/{issued['id']}", "admin").status_code == 204
    staff = api.get("/staff.csv", "admin").content
    assert api.put("/staff", "duty", content=staff, headers={"Content-Type": "text/csv"}).status_code == 200
    mine = {f"token:{issued['id']}", "staff:T"}
    entries = [(e["action"], e["subject"], e["role"]) for e in log(api) if e["subject"] in mine]
    assert entries == [
        ("staff_replaced", "staff:T", "duty_officer"),
        ("token_revoked", f"token:{issued['id']}", "admin"),
        ("token_issued", f"token:{issued['id']}", "admin"),
    ]
    assert log(api, action="token_revoked")[0]["details"] == {
        "role": "duty_officer",
        "staff_id": "O1",
        "name": "周强",
    }


def test_only_admins_read_the_log_and_a_street_admin_only_its_streets(api: Api, center: Center) -> None:
    district, _ = center.auth.issue(Role.ADMIN, [], name="区管理员")
    center.auth.issue(Role.DIRECTOR, ["X"], name="另一街道主任")  # logged as the command line's, street X
    order_id = api.create()["id"]
    api.order(order_id, "desk")
    for who in ("director", "duty", "desk", "M1"):
        assert_error(api.get("/audit", who), 403, "forbidden")
    assert_error(api.get("/audit", None), 401, "unauthorized")
    street = {e["subject"] for e in log(api)}
    everything = api.client.get(f"{V1}/audit", headers={"Authorization": f"Bearer {district}"}).json()
    assert {e["subject"] for e in everything} - street == {
        e["subject"] for e in everything if e["streets"] != ["T"]
    }
    assert any(e["streets"] == ["X"] for e in everything) and f"order:{order_id}" in street
    assert all(e["streets"] == ["T"] for e in log(api))
    assert_error(api.get("/audit", "admin", params={"since": "2026-11-25T08:00:00"}), 422, "invalid_input")


def test_the_command_line_prints_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHENGYUN_DATABASE_URL", f"sqlite:///{tmp_path / 'audit.db'}")
    assert main(["token", "create", "--role", "admin", "--street", "JAS"]) == 0
    capsys.readouterr()
    assert main(["audit", "--action", "token_issued"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert "命令行（cli）\t签发令牌\ttoken:" in line and line.endswith("\tJAS")
    for bad in ("昨天", "2026-11-25T08:00:00"):  # not a time; a time without its zone
        assert main(["audit", "--since", bad]) == 2
        assert "--since 须为带时区的时间" in capsys.readouterr().err
