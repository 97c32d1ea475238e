"""The `chengyun` command: run the center, run the demo, manage tokens, import and export data."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from chengyun.domain.access import Role
from chengyun.domain.calendar import local_date
from chengyun.domain.errors import DomainError
from chengyun.domain.places import PlaceKind
from chengyun.settings import Settings, sqlite_url

if TYPE_CHECKING:
    from chengyun.bootstrap import Center

log = logging.getLogger("chengyun")

DEMO_DB = Path("var") / "demo.db"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        result: int = args.run(args)
        return result
    except DomainError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        for problem in exc.details.get("errors", [])[:50]:
            print(f"  {json.dumps(problem, ensure_ascii=False)}", file=sys.stderr)
        return 2


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    changes: dict[str, object] = {}
    for name in ("database_url", "host", "port", "speed", "mqtt_client_id"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "no_worker", False):
        changes["run_worker"] = False
    if "mqtt_client_id" not in changes and not os.environ.get("CHENGYUN_MQTT_CLIENT_ID"):
        # `serve` and `worker` on one host must not share a session (the broker would drop one of them)
        changes["mqtt_client_id"] = f"{settings.mqtt_client_id}-{getattr(args, 'command', 'cli')}"
    return replace(settings, **changes)  # type: ignore[arg-type]


# --- serve, worker, demo --------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from chengyun.bootstrap import build

    settings = _settings(args)
    center = build(settings)
    _serve(center, settings)
    return 0


def _serve(center: Center, settings: Settings) -> None:
    import uvicorn

    from chengyun.api.app import create_app

    # Live feeds never end by themselves: give them a few seconds on shutdown, then close them.
    uvicorn.run(
        create_app(center),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=3,
    )


def cmd_worker(args: argparse.Namespace) -> int:
    from chengyun.bootstrap import build

    settings = replace(_settings(args), run_worker=True)
    center = build(settings)
    center.start()
    if center.mqtt is not None and not center.mqtt.wait_connected(15):
        print(f"警告：暂未连上 MQTT 代理 {settings.mqtt_url}，将在后台重试", file=sys.stderr, flush=True)
    print("工作进程已启动（Ctrl-C 退出）" + ("，正在接入 MQTT 传感器读数" if center.mqtt else ""), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        center.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from chengyun.adapters.mqtt import MqttPublisher
    from chengyun.bootstrap import build
    from chengyun.sim.demo import STREET, load_demo_street
    from chengyun.sim.feeder import DemoFeeder
    from chengyun.sim.reporter import SensorReporter
    from chengyun.sim.sensors import SensorFeed, demo_sensors

    db = Path(args.db)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    settings = replace(_settings(args), database_url=sqlite_url(db))
    center = build(settings)
    today = local_date(center.clock.now())
    counts = load_demo_street(center, today - timedelta(days=1), args.days + 1)
    token, _ = center.auth.issue(Role.ADMIN, [STREET], name="演示管理员")
    feeder = DemoFeeder(center, STREET, orders_per_hour=args.rate, seed=args.seed)
    feeder.start()
    sensor_feed = SensorFeed(demo_sensors(args.seed), args.seed, start=center.clock.now())
    publisher = MqttPublisher(settings.mqtt_url, "chengyun-demo-sensors") if settings.mqtt_url else None
    reporter = SensorReporter(center, sensor_feed, publisher.publish_many if publisher else None)
    reporter.start()
    url = f"http://{settings.host}:{settings.port}"
    width = shutil.get_terminal_size((100, 20)).columns
    print("=" * min(width, 72))
    print("城运中心演示已启动：静安寺街道（数据为虚构的演示数据）")
    print(
        f"  地点 {counts['places']} 处 · 人员 {counts['staff']} 人 · "
        f"AB角 {counts['ab_pairs']} 对 · 班次 {counts['shifts']} 个 · 传感器 {counts['sensors']} 个"
    )
    print(
        "  传感器上报经"
        + ("MQTT（" + settings.mqtt_url + "）" if settings.mqtt_url else "内置接入通道")
        + "，将出现的异常："
    )
    for scenario in sensor_feed.scenarios():
        print(f"    · {scenario.description}")
    print(f"  模拟时钟：{settings.speed:g} 倍速；每小时（模拟时间）约 {args.rate:g} 件工单")
    print(f"  大屏：      {url}/screen#token={token}")
    print(f"  接口文档：  {url}/docs")
    print(f"  管理员令牌：{token}")
    print("=" * min(width, 72), flush=True)
    try:
        _serve(center, settings)
    finally:
        reporter.stop()
        feeder.stop()
        if publisher is not None:
            publisher.close()
    return 0


# --- database, tokens -----------------------------------------------------------------------------


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from chengyun.adapters.db.migrate import upgrade

    upgrade(_settings(args).database_url)
    print("数据库已升级到最新版本")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    center = _center(args)
    streets = args.street or []
    token, record = center.auth.issue(Role(args.role), streets, args.staff, args.name or "", args.ttl_days)
    print(token)
    print(
        f"# 令牌编号 {record.id}，角色 {Role(record.role).label}，"
        f"街道 {','.join(sorted(record.streets)) or '全部'}",
        file=sys.stderr,
    )
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    for r in _center(args).auth.tokens():
        state = "已吊销" if r.revoked_at else "有效"
        print(
            f"{r.id}\t{r.role}\t{','.join(sorted(r.streets)) or '*'}\t{r.staff_id or '-'}\t{r.name}\t{state}"
        )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    _center(args).auth.revoke(args.id)
    print(f"令牌 {args.id} 已吊销")
    return 0


# --- import, export -------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    from chengyun.sim.demo import CLI_ADMIN

    center = _center(args)
    directory = center.directory
    if args.what == "demo":
        from chengyun.sim.demo import load_demo_street

        today = local_date(center.clock.now())
        counts = load_demo_street(center, today - timedelta(days=1), args.days)
        print(json.dumps(counts, ensure_ascii=False))
        return 0
    if args.file is None:
        raise SystemExit("请给出要导入的文件")
    text = Path(args.file).read_text(encoding="utf-8-sig")
    street = args.street
    if args.what == "places":
        collection = json.loads(text)
        if street is None:
            street = _street_in(collection)
        count = directory.import_places(CLI_ADMIN, street, collection)
    elif args.what == "categories":
        if street is None:
            raise SystemExit("请用 --street 指明街道")
        items = _json_list(text)
        count = len(center.orders.set_categories(CLI_ADMIN, street, items))
    elif args.what == "sensors":
        if street is None:
            raise SystemExit("请用 --street 指明街道")
        if text.lstrip().startswith("{"):
            count = center.sensors.import_geojson(CLI_ADMIN, street, json.loads(text))
        else:
            count = center.sensors.import_csv(CLI_ADMIN, street, text)
    else:
        if street is None:
            raise SystemExit("请用 --street 指明街道")
        importer = {
            "departments": directory.import_departments,
            "staff": directory.import_staff,
            "pairs": directory.import_pairs,
            "roster": directory.import_roster,
        }[args.what]
        count = importer(CLI_ADMIN, street, text)
    print(f"已导入 {count} 条（{args.what}）")
    return 0


def _street_in(collection: object) -> str:
    if isinstance(collection, dict):
        for feature in collection.get("features", []):
            props = feature.get("properties") if isinstance(feature, dict) else None
            if isinstance(props, dict) and props.get("kind") == "street":
                return str(props.get("code"))
    raise SystemExit("文件中没有 kind=street 的要素，请用 --street 指明街道")


def cmd_export(args: argparse.Namespace) -> int:
    directory = _center(args).directory
    street = args.street
    if args.what == "places":
        kind = PlaceKind(args.kind) if args.kind else None
        text = json.dumps(directory.export_places(street, kind), ensure_ascii=False, indent=1)
    elif args.what == "categories":
        catalogue = _center(args).orders.catalogue(street)
        text = json.dumps([c.to_dict() for c in catalogue], ensure_ascii=False, indent=1)
    elif args.what == "sensors":
        from chengyun.sim.demo import CLI_ADMIN

        sensors = _center(args).sensors
        if args.format == "geojson":
            text = json.dumps(sensors.export_geojson(CLI_ADMIN, street), ensure_ascii=False)
        else:
            text = sensors.export_csv(CLI_ADMIN, street)
    elif args.what == "roster":
        start = datetime.fromisoformat(args.start) if args.start else datetime.now().astimezone()
        text = directory.export_roster(street, start, start + timedelta(days=args.days))
    else:
        text = {
            "departments": directory.export_departments,
            "staff": directory.export_staff,
            "pairs": directory.export_pairs,
        }[args.what](street)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _json_list(text: str) -> list[dict[str, object]]:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"文件不是合法的 JSON：{exc}") from None
    if not isinstance(items, list):
        raise SystemExit("类别目录文件应为 JSON 数组")
    return items


# --- classifier -----------------------------------------------------------------------------------


def cmd_classifier_retrain(args: argparse.Namespace) -> int:
    report = _center(args).classifier.retrain(args.street)
    accuracy = (
        f"；留出样本 {report.held_out} 条，首选准确率 {report.top1:.1%}，前三命中率 {report.top3:.1%}"
        if report.top1 is not None and report.top3 is not None
        else ""
    )
    print(
        f"街道 {report.street}：{report.examples} 条样本（其中纠正 {report.corrections} 条），"
        f"{report.categories} 个类别，用时 {report.seconds:.1f} 秒{accuracy}"
    )
    return 0


def cmd_classifier_evaluate(args: argparse.Namespace) -> int:
    from chengyun.adapters.classifier import TfidfSvmClassifier, catalogue_examples, load_builtin_examples
    from chengyun.bootstrap import builtin_categories
    from chengyun.services.classify import evaluate

    examples = load_builtin_examples()
    train = [e for e in examples if e.split != "test"] + catalogue_examples(builtin_categories())
    test = [e for e in examples if e.split == "test"]
    print(f"训练 {len(train)} 条（内置语料训练部分与类别目录词），测试 {len(test)} 条留出样本……", flush=True)

    def progress(done: int, total: int) -> None:
        if done % 50 == 0 or done == total:
            print(f"  已评估 {done}/{total}", flush=True)

    result = evaluate(TfidfSvmClassifier, train, test, progress)
    print(f"首选准确率 top-1：{result.top1:.1%}")
    print(f"前三命中率 top-3：{result.top3:.1%}")
    return 0


def _center(args: argparse.Namespace) -> Center:
    from chengyun.bootstrap import build

    return build(replace(_settings(args), run_worker=False))


# --- five colours: the grading rules ---------------------------------------------------------------


def cmd_grading_export(args: argparse.Namespace) -> int:
    from chengyun.sim.demo import CLI_ADMIN

    rules = _center(args).grading.get_rules(CLI_ADMIN, args.street)
    text = json.dumps(rules.to_dict(), ensure_ascii=False, indent=1) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_grading_import(args: argparse.Namespace) -> int:
    from chengyun.sim.demo import CLI_ADMIN

    rules = _center(args).grading.set_rules(CLI_ADMIN, args.street, _json_object(args.file))
    print(f"已导入 {len(rules.rules)} 条分级规则（街道 {args.street}）")
    return 0


def cmd_grading_dry_run(args: argparse.Namespace) -> int:
    from chengyun.domain.grading import GradingRules
    from chengyun.domain.severity import Colour
    from chengyun.sim.demo import CLI_ADMIN

    since, until = _local_time(args.since), _local_time(args.until)
    proposed = GradingRules.from_dict(_json_object(args.rules)) if args.rules else None

    def progress(done: int, total: int) -> None:
        print(f"\r  已定级 {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    run = _center(args).grading.dry_run(CLI_ADMIN, args.street, since, until, proposed, progress)
    print(
        f"{since:%Y-%m-%d %H:%M} 至 {until:%Y-%m-%d %H:%M} 受理 {run.orders} 件，"
        f"颜色会变化 {run.changed} 件，人工定级保持 {run.manual_kept} 件（用时 {run.seconds:.1f} 秒）"
    )
    widest = max([*run.actual.values(), *run.proposed.values(), 1])
    for colour in Colour:
        for label, counts in (("现有", run.actual), ("试算", run.proposed)):
            n = counts.get(colour.value, 0)
            print(f"  {colour.label[:2]} {label} {'█' * round(30 * n / widest):<30} {n}")
    for (before, after), n in sorted(run.moves.items(), key=lambda kv: -kv[1]):
        print(f"  {Colour(before).label[:2]} → {Colour(after).label[:2]}：{n} 件")
    for change in run.examples[: args.examples]:
        moved = f"{change.actual.label[:2]} → {change.proposed.label[:2]}"
        print(f"  #{change.order_id} {change.category} {moved}：{change.explanation}")
    return 0


def _json_object(path: str) -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise SystemExit(f"文件不是合法的 JSON：{exc}") from None


def _local_time(text: str) -> datetime:
    """An ISO date or time; without an offset it is Shanghai time."""
    from chengyun.domain.calendar import SHANGHAI

    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"时间 {text!r} 应为 ISO-8601，如 2026-11-01 或 2026-11-01T08:00+08:00") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=SHANGHAI)


def _grading_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    grading = sub.add_parser("grading", help="五色分级规则").add_subparsers(title="分级规则命令")
    p = grading.add_parser("export", help="导出街道的分级规则（JSON）")
    p.set_defaults(run=cmd_grading_export)
    p.add_argument("--street", required=True)
    p.add_argument("-o", "--output", help="输出文件（默认标准输出）")
    p.add_argument("--database-url")
    p = grading.add_parser("import", help="整体替换街道的分级规则（JSON；有一处错误则全部不导入）")
    p.set_defaults(run=cmd_grading_import)
    p.add_argument("file")
    p.add_argument("--street", required=True)
    p.add_argument("--database-url")
    p = grading.add_parser("dry-run", help="用（拟用的）规则给一段时间的工单试算定级，报告颜色变化")
    p.set_defaults(run=cmd_grading_dry_run)
    p.add_argument("--street", required=True)
    p.add_argument("--from", dest="since", required=True, help="起（含），如 2026-11-01（上海时间）")
    p.add_argument("--to", dest="until", required=True, help="止（不含），如 2026-12-01")
    p.add_argument("--rules", help="拟用的规则文件（JSON）；不给则用现行规则")
    p.add_argument("--examples", type=int, default=20, help="列出多少件颜色会变的工单")
    p.add_argument("--database-url")


# --- the parser -----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chengyun", description="城运：街道城市运行管理平台")

    def usage(_: argparse.Namespace) -> int:
        parser.print_help()
        return 0

    parser.set_defaults(run=usage)
    sub = parser.add_subparsers(title="命令")

    def command(name: str, help_text: str, run: object) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(run=run, command=name)
        p.add_argument(
            "--database-url", help="数据库地址（默认取 CHENGYUN_DATABASE_URL，否则 var/chengyun.db）"
        )
        p.add_argument("-v", "--verbose", action="store_true", help="输出运行日志")
        return p

    def server_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", help="监听地址（默认 CHENGYUN_HOST 或 127.0.0.1）")
        p.add_argument("--port", type=int, help="端口（默认 CHENGYUN_PORT 或 8000）")
        p.add_argument("--speed", type=float, help="模拟时钟倍速（1 为真实时间）")

    p = command("serve", "按配置运行城运中心（接口、大屏、时限工作进程）", cmd_serve)
    server_flags(p)
    p.add_argument("--no-worker", action="store_true", help="不在本进程运行时限工作进程")

    p = command(
        "worker", "只运行工作进程：时限、传感器巡检，配置了 MQTT 时接入传感器读数（可多开）", cmd_worker
    )
    p.add_argument("--speed", type=float, help="模拟时钟倍速")
    p.add_argument("--mqtt-client-id", help="MQTT 客户端编号（重启时保持不变；多个工作进程各不相同）")

    p = command("demo", "用内置的静安寺街道演示数据运行整个城运中心（SQLite）", cmd_demo)
    server_flags(p)
    p.set_defaults(speed=10.0)
    p.add_argument("--db", default=str(DEMO_DB), help="演示数据库文件（每次启动时重建）")
    p.add_argument("--rate", type=float, default=40.0, help="每小时（模拟时间）新工单数")
    p.add_argument("--days", type=int, default=7, help="排班天数")
    p.add_argument("--seed", type=int, default=7, help="随机种子")

    db = sub.add_parser("db", help="数据库").add_subparsers(title="数据库命令")
    p = db.add_parser("upgrade", help="升级数据库结构到最新版本")
    p.set_defaults(run=cmd_db_upgrade)
    p.add_argument("--database-url")

    tokens = sub.add_parser("token", help="访问令牌").add_subparsers(title="令牌命令")
    p = tokens.add_parser("create", help="签发令牌（打印到标准输出）")
    p.set_defaults(run=cmd_token_create)
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--staff", help="绑定的人员编号")
    p.add_argument("--street", action="append", help="可访问的街道（可多次给出；管理员不填表示全区）")
    p.add_argument("--name", help="令牌名称")
    p.add_argument("--ttl-days", type=float, help="有效天数（默认长期有效）")
    p.add_argument("--database-url")
    p = tokens.add_parser("list", help="列出令牌")
    p.set_defaults(run=cmd_token_list)
    p.add_argument("--database-url")
    p = tokens.add_parser("revoke", help="吊销令牌")
    p.set_defaults(run=cmd_token_revoke)
    p.add_argument("id")
    p.add_argument("--database-url")

    what = ["places", "departments", "staff", "pairs", "roster", "categories", "sensors"]
    p = command(
        "import",
        "导入地点（GeoJSON）、部门/人员/AB角/排班（CSV）、类别目录（JSON）、传感器登记（CSV 或 GeoJSON），"
        "或内置演示街道（demo）",
        cmd_import,
    )
    p.add_argument("what", choices=[*what, "demo"])
    p.add_argument("file", nargs="?")
    p.add_argument("--street", help="街道编码（地点文件中有街道要素时可省略）")
    p.add_argument("--days", type=int, default=7, help="demo：排班天数")

    p = command(
        "export", "导出地点（GeoJSON）、部门/人员/AB角/排班（CSV）、类别目录（JSON）或传感器登记", cmd_export
    )
    p.add_argument("what", choices=what)
    p.add_argument("--street", required=True)
    p.add_argument("--kind", choices=[k.value for k in PlaceKind], help="places：只导出某类地点")
    p.add_argument("--start", help="roster：起始时间（ISO-8601，带时区）")
    p.add_argument("--days", type=int, default=7, help="roster：天数")
    p.add_argument("--format", choices=["csv", "geojson"], default="csv", help="sensors：导出格式")
    p.add_argument("-o", "--output", help="输出文件（默认标准输出）")

    classifier = sub.add_parser("classifier", help="诉求智能分类").add_subparsers(title="分类模型命令")
    p = classifier.add_parser("retrain", help="用内置语料和本街道的纠正重新训练，并报告留出样本准确率")
    p.set_defaults(run=cmd_classifier_retrain)
    p.add_argument("--street", required=True)
    p.add_argument("--database-url")
    p = classifier.add_parser("evaluate", help="在内置语料的留出样本上评估分类模型（top-1/top-3）")
    p.set_defaults(run=cmd_classifier_evaluate)
    _grading_parser(sub)
    return parser


if __name__ == "__main__":
    sys.exit(main())
