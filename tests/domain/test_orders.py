"""The work-order state machine: every move, legal and illegal, and the timeline it leaves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from builders import CLERK, DIRECTOR, MANAGER, PARTNER, POLICY, an_order, at, dispatched
from chengyun.domain.errors import IllegalTransition, InvalidInput
from chengyun.domain.geo import Point
from chengyun.domain.orders import (
    Action,
    Contact,
    Group,
    Location,
    OrderState,
    ReturnReason,
    Satisfaction,
    Source,
    WorkOrder,
    mask_phones_in,
)
from chengyun.domain.severity import Colour
from chengyun.domain.sla import Stage

SITE = Point(121.4451, 31.2233)


def in_state(state: OrderState) -> WorkOrder:
    """An order driven through the real lifecycle into `state`."""
    order = an_order()
    if state is OrderState.RECEIVED:
        return order
    if state is OrderState.MERGED:
        target = an_order()
        target.id, order.id = 2, 1
        order.merge_into(at(1), CLERK, target)
        return order
    dispatched(order)
    if state is OrderState.DISPATCHED:
        return order
    if state is OrderState.RETURNED:
        order.return_to_dispatcher(at(2), MANAGER, ReturnReason.WRONG_AREA, "不是本居民区")
        return order
    if state is OrderState.SUSPENDED:
        order.suspend(at(2), DIRECTOR, "需市级部门协调")
        return order
    order.respond(at(2), MANAGER, POLICY)
    if state is OrderState.RESPONDED:
        return order
    order.arrive(at(10), MANAGER, POLICY, SITE)
    if state is OrderState.ON_SITE:
        return order
    if state is OrderState.PLANNED:
        order.make_plan(at(20), MANAGER, "联系产权单位更换井盖", at(60 * 24))
        return order
    order.handle(at(20), MANAGER, "已更换井盖", POLICY)
    if state is OrderState.HANDLED:
        return order
    order.close_loop(at(30), MANAGER, "已回访，诉求人满意", Satisfaction.SATISFIED)
    if state is OrderState.LOOP_CLOSED:
        return order
    order.close(at(31), CLERK)
    assert state is OrderState.CLOSED
    return order


def do(action: Action, order: WorkOrder) -> None:
    """Perform `action` with valid arguments, so only the state can make it fail."""
    now = at(3)
    target = an_order()
    target.id = 99
    order.id = order.id or 1
    moves: dict[Action, Callable[[], object]] = {
        Action.DISPATCH: lambda: order.dispatch(now, CLERK, PARTNER),
        Action.REASSIGN: lambda: order.reassign(now, CLERK, PARTNER, "原承办人无法按时到场"),
        Action.RESPOND: lambda: order.respond(now, MANAGER, POLICY),
        Action.ARRIVE: lambda: order.arrive(now, MANAGER, POLICY, SITE),
        Action.HANDLE: lambda: order.handle(now, MANAGER, "处置完毕", POLICY),
        Action.PLAN: lambda: order.make_plan(now, MANAGER, "下周维修", at(60 * 24 * 7)),
        Action.CLOSE_LOOP: lambda: order.close_loop(now, MANAGER, "已反馈"),
        Action.CLOSE: lambda: order.close(now, CLERK),
        Action.RETURN: lambda: order.return_to_dispatcher(
            now, MANAGER, ReturnReason.UNCLEAR_OWNERSHIP, "权属不清"
        ),
        Action.REQUEST_EXTENSION: lambda: order.request_extension(
            now, MANAGER, at(60 * 24 * 30), "需要采购材料"
        ),
        Action.SUSPEND: lambda: order.suspend(now, DIRECTOR, "列入难题清单"),
        Action.RESUME: lambda: order.resume(now, DIRECTOR),
        Action.REOPEN: lambda: order.reopen(now, CLERK, "回访不满意", POLICY),
        Action.MERGE: lambda: order.merge_into(now, CLERK, target),
        Action.SUPERVISE: lambda: order.supervise(now, DIRECTOR, "请加快处置", 30),
        Action.REGRADE: lambda: order.regrade(now, DIRECTOR, Colour.RED, "涉及人身安全"),
        Action.URGE: lambda: order.urge(now, DIRECTOR, "请尽快办理", 1),
        Action.CIRCULATE: lambda: order.circulate(now, DIRECTOR, "超期未办，予以通报", 1),
        Action.RECLASSIFY: lambda: order.reclassify(now, CLERK, "100103", "实为雨水井盖"),
        Action.NOTE: lambda: order.add_note(now, CLERK, "已与物业沟通"),
    }
    moves[action]()


# The specification, written out independently of the implementation's table.
LEGAL: dict[OrderState, set[Action]] = {
    OrderState.RECEIVED: {
        Action.DISPATCH,
        Action.REQUEST_EXTENSION,
        Action.SUSPEND,
        Action.MERGE,
        Action.SUPERVISE,
        Action.REGRADE,
        Action.RECLASSIFY,
        Action.NOTE,
        Action.URGE,
        Action.CIRCULATE,
    },
    OrderState.DISPATCHED: {
        Action.DISPATCH,
        Action.REASSIGN,
        Action.RESPOND,
        Action.RETURN,
        Action.REQUEST_EXTENSION,
        Action.SUSPEND,
        Action.MERGE,
        Action.SUPERVISE,
        Action.REGRADE,
        Action.RECLASSIFY,
        Action.NOTE,
        Action.URGE,
        Action.CIRCULATE,
    },
    OrderState.RETURNED: {
        Action.DISPATCH,
        Action.REQUEST_EXTENSION,
        Action.SUSPEND,
        Action.MERGE,
        Action.SUPERVISE,
        Action.REGRADE,
        Action.RECLASSIFY,
        Action.NOTE,
        Action.URGE,
        Action.CIRCULATE,
    },
    OrderState.RESPONDED: {
        Action.REASSIGN,
        Action.ARRIVE,
        Action.RETURN,
        Action.REQUEST_EXTENSION,
        Action.SUSPEND,
        Action.MERGE,
        Action.SUPERVISE,
        Action.REGRADE,
        Action.RECLASSIFY,
        Action.NOTE,
        Action.URGE,
        Action.CIRCULATE,
    },
    OrderState.ON_SITE: {
        Action.HANDLE,
        Action.PLAN,
        Action.RETURN,
        Action.REQUEST_EXTENSION,
        Action.SUSPEND,
        Action.MERGE,
        Action.SUPERVISE,
        Action.REGRADE,
        Action.RECLASSIFY,
        Action.NOTE,
        Action.URGE,
        Action.CIRCULATE,
    },
    OrderState.PLANNED: {
        Action.HANDLE,
        Action.REQUEST_EXTENSION,
        Action.SUSPEND,
        Action.MERGE,
        Action.SUPERVISE,
        Action.REGRADE,
        Action.RECLASSIFY,
        Action.NOTE,
        Action.URGE,
        Action.CIRCULATE,
    },
    OrderState.HANDLED: {
        Action.CLOSE_LOOP,
        Action.REQUEST_EXTENSION,
        Action.SUSPEND,
        Action.SUPERVISE,
        Action.REGRADE,
        Action.RECLASSIFY,
        Action.NOTE,
        Action.URGE,
        Action.CIRCULATE,
    },
    OrderState.LOOP_CLOSED: {Action.CLOSE, Action.REOPEN, Action.NOTE, Action.CIRCULATE},
    OrderState.CLOSED: {Action.REOPEN, Action.NOTE, Action.CIRCULATE},  # a late order circulated afterwards
    OrderState.SUSPENDED: {Action.RESUME, Action.REGRADE, Action.RECLASSIFY, Action.NOTE, Action.CIRCULATE},
    OrderState.MERGED: {Action.NOTE},
}
TESTED = [a for a in Action if a not in (Action.DECIDE_EXTENSION, Action.REPLY_SUPERVISION)]


@pytest.mark.parametrize("state", list(OrderState))
@pytest.mark.parametrize("action", TESTED)
def test_each_action_is_allowed_exactly_in_its_states(state: OrderState, action: Action) -> None:
    order = in_state(state)
    before = order.state
    if action in LEGAL[state]:
        do(action, order)
        assert order.new_entries[-1].at == at(3)
    else:
        with pytest.raises(IllegalTransition) as refused:
            do(action, order)
        assert refused.value.details == {"state": before.value, "action": action.value}
        assert before.label in refused.value.message and action.label in refused.value.message
        assert order.state is before


def test_refusal_names_the_state_and_the_move_in_chinese() -> None:
    order = an_order()
    with pytest.raises(IllegalTransition, match="工单当前状态为「已受理」，不能执行「到场签到」"):
        order.arrive(at(1), MANAGER, POLICY, SITE)


def test_the_happy_path_moves_through_every_state_and_meets_51530() -> None:
    order = in_state(OrderState.CLOSED)
    kinds = [e.kind for e in order.new_entries]
    assert kinds == ["received", "dispatched", "responded", "arrived", "handled", "loop_closed", "closed"]
    assert [e.seq for e in order.new_entries] == list(range(1, 8))
    assert all(order.clocks[s].on_time for s in Stage)
    assert order.state.group is Group.CLOSED


def test_every_entry_records_actor_time_state_and_position() -> None:
    order = in_state(OrderState.ON_SITE)
    arrived = order.new_entries[-1]
    assert (arrived.kind, arrived.actor, arrived.actor_name) == ("arrived", MANAGER.id, MANAGER.name)
    assert arrived.at == at(10) and arrived.state is OrderState.ON_SITE and arrived.position == SITE


def test_states_are_grouped_open_handled_closed_and_suspended() -> None:
    assert OrderState.RETURNED.group is Group.OPEN
    assert OrderState.LOOP_CLOSED.group is Group.HANDLED
    assert OrderState.MERGED.group is Group.CLOSED
    assert OrderState.SUSPENDED.group is Group.SUSPENDED


def test_an_order_without_any_location_is_refused() -> None:
    with pytest.raises(InvalidInput, match="位置"):
        WorkOrder.receive(
            street="s",
            source=Source.HOTLINE,
            category="100101",
            description="井盖坏了",
            location=Location(),
            colour=Colour.BLUE,
            policy=POLICY,
            now=at(0),
            by=CLERK,
        )


@pytest.mark.parametrize("text", ["", "   ", "长" * 5001])
def test_empty_or_oversized_descriptions_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        an_order(description=text)


def test_an_order_without_an_area_cannot_be_dispatched() -> None:
    order = an_order(area=None)
    with pytest.raises(InvalidInput, match="居民区"):
        order.dispatch(at(1), CLERK, MANAGER)


def test_returning_clears_the_assignee_and_redispatch_assigns_again() -> None:
    order = in_state(OrderState.RETURNED)
    assert order.assignee is None
    assert order.new_entries[-1].data["reason"] == "wrong_area"
    assert "属地不符" in order.new_entries[-1].note
    order.dispatch(at(5), CLERK, PARTNER)
    assert (order.state, order.assignee) == (OrderState.DISPATCHED, PARTNER.id)


def test_reassigning_before_response_is_recorded_as_reassigned() -> None:
    order = dispatched(an_order())
    order.dispatch(at(2), DIRECTOR, PARTNER)
    entry = order.new_entries[-1]
    assert entry.kind == "reassigned" and entry.data["previous"] == MANAGER.id


def test_reassigning_a_responded_order_keeps_the_first_contact_and_the_clocks() -> None:
    order = in_state(OrderState.RESPONDED)
    clocks = {s: (c.started_at, c.due_at, c.done_at) for s, c in order.clocks.items()}
    order.reassign(at(4), DIRECTOR, PARTNER, "李专管手头另有两件工单，无法在时限内到场", "B 角就近")
    entry = order.new_entries[-1]
    assert (order.state, order.assignee) == (OrderState.RESPONDED, PARTNER.id)
    assert {s: (c.started_at, c.due_at, c.done_at) for s, c in order.clocks.items()} == clocks
    assert order.clocks[Stage.RESPOND].on_time is True
    assert (entry.kind, entry.actor, entry.state) == ("reassigned", DIRECTOR.id, OrderState.RESPONDED)
    assert entry.data["previous"] == MANAGER.id and entry.data["assignee"] == PARTNER.id
    assert entry.data["reason"] == "李专管手头另有两件工单，无法在时限内到场"
    assert entry.note == f"改派给 {PARTNER.name}：李专管手头另有两件工单，无法在时限内到场；B 角就近"
    order.arrive(at(9), PARTNER, POLICY, SITE)  # the new holder carries on from where it was
    assert order.clocks[Stage.ARRIVE].on_time is True


def test_reassigning_needs_a_reason_and_another_person() -> None:
    order = in_state(OrderState.RESPONDED)
    with pytest.raises(InvalidInput, match="改派原因"):
        order.reassign(at(4), DIRECTOR, PARTNER, "  ")
    with pytest.raises(InvalidInput, match="无需改派"):
        order.reassign(at(4), DIRECTOR, MANAGER, "换人")
    assert order.assignee == MANAGER.id and order.new_entries[-1].kind == "responded"


def test_an_order_on_site_is_not_reassigned_but_returned() -> None:
    order = in_state(OrderState.ON_SITE)
    with pytest.raises(IllegalTransition, match="「已到场」，不能执行「改派」"):
        order.reassign(at(11), DIRECTOR, PARTNER, "换人")


def test_a_plan_gives_the_loop_its_planned_date() -> None:
    order = in_state(OrderState.PLANNED)
    assert order.clocks[Stage.HANDLE].on_time is True
    assert order.clocks[Stage.CLOSE].due_at == at(60 * 24)
    order.handle(at(60 * 20), MANAGER, "按计划更换完毕", POLICY)
    order.close_loop(at(60 * 21), MANAGER, "已反馈")
    assert order.clocks[Stage.CLOSE].on_time is True


def test_a_plan_date_in_the_past_is_refused() -> None:
    order = in_state(OrderState.ON_SITE)
    with pytest.raises(InvalidInput):
        order.make_plan(at(20), MANAGER, "计划", at(19))


def test_extension_must_be_asked_before_the_deadline() -> None:
    order = dispatched(an_order())
    with pytest.raises(IllegalTransition, match="已超期"):
        order.request_extension(at(6), MANAGER, at(30), "联系不上诉求人")


def test_an_approved_extension_moves_the_deadline_and_a_refused_one_does_not() -> None:
    order = in_state(OrderState.ON_SITE)
    order.request_extension(at(20), MANAGER, at(100), "需要吊车")
    with pytest.raises(IllegalTransition, match="待审批"):
        order.request_extension(at(21), MANAGER, at(120), "再延")
    order.decide_extension(at(22), DIRECTOR, False, "请先处置", POLICY)
    assert order.clocks[Stage.HANDLE].due_at == at(40)
    order.request_extension(at(23), MANAGER, at(100), "确实需要吊车")
    order.decide_extension(at(24), DIRECTOR, True, "", POLICY)
    assert order.clocks[Stage.HANDLE].due_at == at(100)
    assert [e.decision for e in order.extensions] == ["refused", "approved"]
    assert [e.kind for e in order.new_entries[-4:]] == [
        "extension_requested",
        "extension_refused",
        "extension_requested",
        "extension_approved",
    ]


def test_deciding_without_a_pending_request_is_refused() -> None:
    with pytest.raises(IllegalTransition, match="没有待审批"):
        in_state(OrderState.DISPATCHED).decide_extension(at(2), DIRECTOR, True, "", POLICY)


def test_time_on_the_problem_list_does_not_count_against_a_stage() -> None:
    order = in_state(OrderState.SUSPENDED)  # suspended at minute 2, respond due at 5
    order.resume(at(62), DIRECTOR, "协调完毕")
    assert order.state is OrderState.DISPATCHED
    assert order.clocks[Stage.RESPOND].due_at == at(65)
    assert not order.is_overdue(at(64))


def test_reopening_starts_a_new_round_with_fresh_deadlines() -> None:
    order = in_state(OrderState.CLOSED)
    order.reopen(at(60), CLERK, "回访不满意：井盖仍然松动", POLICY)
    assert (order.state, order.round, order.assignee) == (OrderState.DISPATCHED, 2, MANAGER.id)
    assert order.clocks[Stage.RESPOND].due_at == at(65)
    assert Stage.HANDLE not in order.clocks
    assert order.new_entries[-1].data["previous_clocks"]["close"]["done_at"] is not None


def test_merging_a_duplicate_moves_its_complainants_to_the_target() -> None:
    target = an_order(complainant=Contact("唐女士", "13900000001"))
    duplicate = an_order(complainant=Contact("王先生", "13900000002"))
    target.id, duplicate.id = 1, 2
    duplicate.merge_into(at(3), CLERK, target, "同一井盖")
    assert duplicate.state is OrderState.MERGED and duplicate.merged_into == 1
    assert [c.name for c in target.complainants] == ["唐女士", "王先生"]
    assert target.new_entries[-1].kind == "duplicate_merged"


def test_an_order_cannot_be_merged_into_itself_or_into_a_closed_order() -> None:
    order = an_order()
    order.id = 1
    with pytest.raises(InvalidInput):
        order.merge_into(at(1), CLERK, order)
    closed = in_state(OrderState.CLOSED)
    closed.id = 2
    with pytest.raises(IllegalTransition):
        an_order().merge_into(at(40), CLERK, closed)


def test_supervision_has_its_own_reply_deadline_and_a_single_reply() -> None:
    order = dispatched(an_order())
    supervision = order.supervise(at(2), DIRECTOR, "请立即联系诉求人", 30)
    assert supervision.reply_due_at == at(32)
    order.reply_supervision(at(10), MANAGER, 1, "已联系，正在前往")
    with pytest.raises(IllegalTransition, match="已回复"):
        order.reply_supervision(at(11), MANAGER, 1, "再次回复")
    with pytest.raises(InvalidInput, match="不存在"):
        order.reply_supervision(at(11), MANAGER, 7, "回复")


def test_regrading_needs_a_reason_and_a_new_colour() -> None:
    order = an_order(colour=Colour.YELLOW)
    with pytest.raises(InvalidInput):
        order.regrade(at(1), DIRECTOR, Colour.RED, "  ")
    with pytest.raises(InvalidInput):
        order.regrade(at(1), DIRECTOR, Colour.YELLOW, "无变化")
    order.regrade(at(1), DIRECTOR, Colour.RED, "有人受伤")
    assert order.new_entries[-1].data == {"from": "yellow", "to": "red"}


def test_contacts_are_masked_for_people_who_need_not_see_them() -> None:
    masked = Contact("唐晓梅", "13812345678").masked()
    assert masked == Contact("唐**", "138****5678")
    assert Contact("王", "62481234").masked().phone == "62****34"  # a landline keeps less than half


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("请回电13812345678谢谢", "请回电138****5678谢谢"),
        ("+86 13812345678", "+86 138****5678"),
        ("座机021-62481234，或02162481234", "座机021*****1234，或021****1234"),
        ("联系电话：62481234", "联系电话：62****34"),
        ("TEL 5248123", "TEL 52***23"),
        ("手机 13812345678，号码62481234", "手机 138****5678，号码62****34"),
        # numbers that are not phones stay: dates, amounts, house numbers, an order number, 12 digits
        (
            "2024年3月 罚款20000元 南京西路1618号 工单20240101",
            "2024年3月 罚款20000元 南京西路1618号 工单20240101",
        ),
        ("编号138123456789", "编号138123456789"),
        ("价格 12345678 元", "价格 12345678 元"),
    ],
)
def test_phone_numbers_in_free_text_are_masked_and_other_numbers_left_alone(text: str, masked: str) -> None:
    assert mask_phones_in(text) == masked


def test_handling_after_the_deadline_is_recorded_as_late() -> None:
    order = in_state(OrderState.ON_SITE)  # arrived at 10: handle due at 40
    order.handle(at(45), MANAGER, "处置完毕", POLICY)
    assert order.clocks[Stage.HANDLE].on_time is False
    assert order.clocks[Stage.CLOSE].due_at == at(75)


def test_dispatch_time_counts_against_the_response_deadline() -> None:
    order = an_order()
    order.dispatch(at(4), CLERK, MANAGER)
    assert order.clocks[Stage.RESPOND].due_at == at(5)
    assert order.is_overdue(at(5) + timedelta(seconds=1))


def test_a_dispatcher_corrects_the_category_and_the_timeline_keeps_both() -> None:
    order = dispatched(an_order(category="100101"))
    previous = order.reclassify(at(3), CLERK, "100103", "实为雨水井盖")
    assert (previous, order.category) == ("100101", "100103")
    entry = order.new_entries[-1]
    assert entry.kind == "reclassified" and entry.note == "类别 100101 → 100103：实为雨水井盖"
    with pytest.raises(InvalidInput):
        order.reclassify(at(4), CLERK, "100103")


def test_intake_remarks_are_of_known_kinds_only() -> None:
    order = an_order()
    order.remark(at(0), CLERK, "location_unresolved", "地址未能定位")
    assert order.new_entries[-1].kind == "location_unresolved"
    with pytest.raises(InvalidInput):
        order.remark(at(0), CLERK, "anything", "x")
