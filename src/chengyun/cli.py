"""The `chengyun` command: run the center, run the demo, manage tokens, import and export data."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
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
    for name in ("database_url", "host", "port", "speed", "mqtt_client_id", "mqtt_topic"):
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
    if args.workers > 1:
        from chengyun.serving import serve_workers

        serve_workers(settings, args.workers)
        return 0
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

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (systemd, docker stop) stops cleanly like Ctrl-C

    signal.signal(signal.SIGTERM, terminate)
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
    from chengyun.sim.live import LiveSimulation
    from chengyun.sim.reporter import SensorReporter
    from chengyun.sim.sensors import SensorFeed, demo_sensors

    db = Path(args.db)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    settings = replace(_settings(args), database_url=sqlite_url(db))
    center = build(settings)
    today = local_date(center.clock.now())
    counts = load_demo_street(
        center, today - timedelta(days=1), args.days + 1, history=(args.history_days, args.rate, args.seed)
    )
    history = counts["history_orders"]
    token, _ = center.auth.issue(Role.ADMIN, [STREET], name="演示管理员")
    feeder = LiveSimulation(center, STREET, args.rate, args.seed, args.days)
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
    if history:
        print(f"  往日工单：此前 {args.history_days} 天已办结 {history} 件（供大屏对比往日、本周按时率）")
    print(
        f"  社区服务：集市 {counts['community_markets']} 个、摊位 {counts['community_stalls']} 个、"
        f"志愿项目 {counts['community_volunteer-projects']} 个、岗位 {counts['community_job-posts']} 个、"
        f"旧改项目 {counts['community_renovation-projects']} 个；居民预约 {url}/market，"
        f"社区工作台 {url}/community#token={token}"
    )
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


# --- simulate -------------------------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace) -> int:
    from chengyun.domain.dispatch import Strategy
    from chengyun.sim.chart import write_chart
    from chengyun.sim.day import DEFAULT_START, Options, compare, run

    if not 0 < args.hours <= 24 * 7 or not 0 < args.load <= 20 or not 0 <= args.sensors <= 1:
        raise SystemExit("--hours 应在 0–168 之间，--load 在 0–20 之间，--sensors 在 0–1 之间")
    if not 0 <= args.night_cover <= 12 or not 0 <= args.peak_cover <= 24:
        raise SystemExit("--night-cover 应在 0–12 之间，--peak-cover 在 0–24 之间")
    start = datetime.fromisoformat(args.start) if args.start else DEFAULT_START
    if start.tzinfo is None:
        raise SystemExit("--start 须带时区，例如 2026-11-25T00:00:00+08:00")
    options = Options(
        hours=args.hours,
        seed=args.seed,
        load=args.load,
        start=start,
        sensors=args.sensors,
        database_url=args.database_url,
        night_cover=args.night_cover,
        peak_cover=args.peak_cover,
    )

    def progress(line: str) -> None:
        print(line, flush=True)

    if args.compare == "naive":
        report = compare(options, progress)
    else:
        report = run(replace(options, strategy=Strategy.STANDARD), progress)
    path = Path(args.report)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    chart = write_chart(report, Path(args.chart) if args.chart else path.with_suffix(".png"))
    on_time = report["on_time"]
    print(
        f"工单 {report['orders']['total']} 件；按时率：响应 {_pct(on_time['respond'])}、到场 "
        f"{_pct(on_time['arrive'])}、处置 {_pct(on_time['handle'])}、闭环 {_pct(on_time['close'])}，"
        f"四环节全部按时 {_pct(on_time['all'])}；超时 {report['overdue']} 件"
    )
    if "baseline" in report:
        comparison = report["comparison"]
        print(
            f"对照（固定派给 A 角）四环节全部按时 {_pct(report['baseline']['on_time']['all'])}；"
            f"未全部按时 {comparison['misses']} 件 对 {comparison['baseline_misses']} 件"
            + (f"（少 {comparison['fewer_misses_ratio']:g} 倍）" if comparison["fewer_misses_ratio"] else "")
        )
    for line in report["why"]:
        print("  " + line)
    print(f"报告：{path}  图表：{chart}  用时 {report['run']['wall_seconds']:g} 秒")
    return 0


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share:.1%}"


# --- the twin -------------------------------------------------------------------------------------


def cmd_twin_snapshot(args: argparse.Namespace) -> int:
    from chengyun.sim.demo import CLI_ADMIN

    layers = [x.strip() for x in args.layers.split(",") if x.strip()]
    snapshot = _center(args).twin.snapshot(CLI_ADMIN, args.street, layers)
    text = json.dumps(snapshot, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        print(
            f"快照 {snapshot['timestamp']}：{len(snapshot['features'])} 个要素 → {args.output}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text + "\n")
    return 0


# --- database, tokens -----------------------------------------------------------------------------


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from chengyun.adapters.db.migrate import upgrade

    upgrade(_settings(args).database_url)
    print("数据库已升级到最新版本")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from chengyun.adapters.db.backup import BackupError, backup

    try:
        outcome = backup(_settings(args).database_url, Path(args.file))
    except BackupError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 2
    kind = "SQLite 在线备份" if outcome.backend == "sqlite" else "pg_dump 自定义格式"
    print(f"已备份到 {outcome.path}（{kind}，{_size(outcome.size)}，用时 {outcome.seconds:.1f} 秒）")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from chengyun.adapters.db.backup import BackupError, newest_revision, restore, summary

    url = _settings(args).database_url
    try:
        outcome = restore(Path(args.file), url)
    except BackupError as exc:
        print(f"错误：{exc.message}", file=sys.stderr)
        return 2
    where = make_url(url).render_as_string(hide_password=True)
    print(f"已从 {outcome.path} 恢复到 {where}（用时 {outcome.seconds:.1f} 秒）：{summary(outcome)}")
    newest = newest_revision()
    if outcome.revision == newest:
        print(f"数据库结构为最新版本（{newest}），可直接 chengyun serve")
    else:
        print(
            f"数据库结构为 {outcome.revision or '未知'}，最新为 {newest}：请运行 chengyun db upgrade"
            "（chengyun serve 启动时也会自动升级）"
        )
    return 0


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KiB"


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


def cmd_audit(args: argparse.Namespace) -> int:
    from chengyun.domain.calendar import local
    from chengyun.services.audit import AuditAction

    if args.what == "prune":
        return _audit_prune(args)
    since = _aware(args.since, "--since", "2026-11-25T08:00:00+08:00") if args.since else None
    if args.since and since is None:
        return 2
    action = AuditAction(args.action) if args.action else None
    for e in _center(args).audit.entries(None, since, action, args.limit):
        streets = ",".join(sorted(e.streets)) or "*"
        who = f"{e.actor_name}（{e.actor_id}）"
        print(f"{local(e.at):%Y-%m-%d %H:%M:%S}\t{who}\t{e.action.label}\t{e.subject}\t{streets}")
    return 0


def _aware(value: str, flag: str, example: str) -> datetime | None:
    """An ISO-8601 time with its offset; None (and why, on stderr) for anything else."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        print(f"{flag} 须为带时区的时间，如 {example}", file=sys.stderr)
        return None
    return parsed


def _audit_prune(args: argparse.Namespace) -> int:
    from chengyun.adapters.audit_archive import JsonLinesArchive

    if not args.before or not args.archive:
        print("清理审计日志须给出 --before（带时区的时间）和 --archive（归档文件）", file=sys.stderr)
        return 2
    before = _aware(args.before, "--before", "2026-01-01T00:00:00+08:00")
    if before is None:
        return 2
    target = Path(args.archive)
    center = _center(args)
    try:
        archive = JsonLinesArchive(target)
    except FileExistsError:
        print(f"归档文件 {target} 已存在，不会覆盖；请换一个文件名", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"无法创建归档文件 {target}：{exc.strerror}", file=sys.stderr)
        return 2
    try:
        count = center.audit.prune(before, archive, archive_file=str(target.resolve()))
    except BaseException:
        archive.discard()
        raise
    print(f"已将 {before.isoformat()} 以前的 {count} 条审计记录归档到 {target} 并从数据库删除")
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


# --- community programs ---------------------------------------------------------------------------


def cmd_community(args: argparse.Namespace) -> int:
    from chengyun.services.community.imports import ImportKind
    from chengyun.sim.demo import CLI_ADMIN

    community = _center(args).community
    if args.action == "token":
        if not args.org:
            raise SystemExit("请用 --org 指明服务单位编码")
        token, org = community.issue_account(CLI_ADMIN, args.street, args.org)
        print(token)
        print(f"# 摊主令牌：{org.name}（{org.code}），街道 {args.street}", file=sys.stderr)
        return 0
    if args.kind is None:
        raise SystemExit(f"请给出数据类别：{'、'.join(k.value for k in ImportKind)}")
    kind = ImportKind(args.kind)
    if args.action == "import":
        if args.file is None:
            raise SystemExit("请给出要导入的 CSV 文件")
        text = Path(args.file).read_text(encoding="utf-8-sig")
        print(f"已导入 {community.files.import_csv(CLI_ADMIN, args.street, kind, text)} 条（{kind.value}）")
        return 0
    text = community.files.export_csv(CLI_ADMIN, args.street, kind)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


# --- reports (考核, 分析研判) ----------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    from datetime import date

    from chengyun.api.schemas_assessment import (
        BriefOut,
        HotspotsOut,
        RecurrencesOut,
        TrendsOut,
    )
    from chengyun.domain.assessment import Dimension
    from chengyun.services.assessment import period_of
    from chengyun.sim.demo import CLI_ADMIN

    center = _center(args)
    service = center.assessment
    assert service is not None
    today = local_date(center.clock.now())
    last = date.fromisoformat(args.to) if args.to else today
    first = date.fromisoformat(args.from_) if args.from_ else last - timedelta(days=29)

    def step(text: str) -> None:
        """Progress on stderr while a file is written (stdout may be the result)."""
        if args.out:
            print(text, file=sys.stderr, flush=True)

    if args.what == "assessment":
        from chengyun.adapters import reports

        period = period_of(first, last)
        step(f"读取 {first} 至 {last} 的工单并计算考核指标（按{Dimension(args.by).label}）……")
        named = service.assessment(CLI_ADMIN, args.street, period, Dimension(args.by))
        groups = len(named.result.standings)
        step(f"共 {named.result.totals.orders} 件工单、{groups} 个统计对象；生成 {args.format} ……")
        if args.format == "xlsx":
            data = reports.assessment_xlsx(named)
        elif args.format == "pdf":
            data = reports.assessment_pdf(named)
        else:
            data = reports.assessment_html(named).encode()
        if not args.out:
            raise SystemExit("请用 --out 指定输出文件")
        Path(args.out).write_bytes(data)
        step(f"已写入 {args.out}（{len(data) / 1024:.0f} KB）")
        return 0
    if args.what == "brief":
        day = date.fromisoformat(args.date) if args.date else today
        brief = service.brief(CLI_ADMIN, args.street, day)
        text = (
            BriefOut.of(brief).model_dump_json(indent=1)
            if args.format == "json"
            else "\n".join(brief.result.text) + "\n"
        )
    else:
        period = period_of(first, last)
        if args.what == "hotspots":
            named_map = service.hotspots(CLI_ADMIN, args.street, period, args.category, args.place)
            text = HotspotsOut.of(named_map, args.place, args.category).model_dump_json(indent=1)
        elif args.what == "recurrences":
            named_list = service.recurrences(CLI_ADMIN, args.street, period, args.category)
            if args.format == "json":
                text = RecurrencesOut.of(named_list).model_dump_json(indent=1)
            else:
                items = RecurrencesOut.of(named_list).items
                text = "".join(
                    f"{r.category_name}·{r.landmark}：{r.count} 件，{r.suggestion}\n" for r in items
                )
        else:
            dimension = Dimension(args.by if args.by != "staff" else "category")
            trends = service.trends(CLI_ADMIN, args.street, period, dimension)
            text = TrendsOut.of(trends, period, dimension).model_dump_json(indent=1)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
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


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为正整数，不是 {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"应为正整数，不是 {text!r}")
    return value


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
    p.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="接口进程数（默认 1；大于 1 时需 PostgreSQL，后台工作在主进程中运行一份）",
    )

    p = command(
        "worker", "只运行工作进程：时限、传感器巡检，配置了 MQTT 时接入传感器读数（可多开）", cmd_worker
    )
    p.add_argument("--speed", type=float, help="模拟时钟倍速")
    p.add_argument("--mqtt-client-id", help="MQTT 客户端编号（重启时保持不变；多个工作进程各不相同）")
    p.add_argument(
        "--mqtt-topic",
        help="本进程接入的 MQTT 主题（默认 chengyun/+/sensors/+；多个工作进程可按街道或网关主题分担传感器）",
    )

    p = command("demo", "用内置的静安寺街道演示数据运行整个城运中心（SQLite）", cmd_demo)
    server_flags(p)
    p.set_defaults(speed=10.0)
    p.add_argument("--db", default=str(DEMO_DB), help="演示数据库文件（每次启动时重建）")
    p.add_argument("--rate", type=float, default=40.0, help="每小时（模拟时间）新工单数")
    p.add_argument("--days", type=int, default=7, help="排班天数")
    p.add_argument("--seed", type=int, default=7, help="随机种子")
    p.add_argument("--history-days", type=int, default=7, help="预先生成此前几天已办结的工单（0：不生成）")

    p = command("simulate", "在模拟时钟上跑一天（或一周）演示街道，输出 51530 结果报告和图表", cmd_simulate)
    p.add_argument("--hours", type=float, default=24.0, help="模拟时长（小时）")
    p.add_argument("--seed", type=int, default=7, help="随机种子（同一种子结果相同）")
    p.add_argument("--load", type=float, default=1.0, help="工单量倍数（2 为平日的两倍）")
    p.add_argument("--compare", choices=["naive"], help="naive：同一天再用“固定派给 A 角”跑一遍作对照")
    p.add_argument("--report", required=True, help="报告文件（JSON）")
    p.add_argument("--chart", help="图表文件（PNG，默认与报告同名）")
    p.add_argument("--sensors", type=float, default=1.0, help="参与上报的传感器比例（0–1，默认全部）")
    p.add_argument("--start", help="开始时间（ISO-8601，带时区；默认 2026-11-25T00:00+08:00）")
    p.add_argument(
        "--night-cover",
        type=int,
        default=0,
        metavar="N",
        help="假设：每晚 22:00–07:00 排 N 名外勤值守（分散在各居民区），看夜间缺口的影响",
    )
    p.add_argument(
        "--peak-cover",
        type=int,
        default=0,
        metavar="N",
        help="假设：每天 08:00–13:00、15:00–19:00 增派 N 名外勤（高峰班，分散在各居民区），看高峰缺口的影响",
    )

    twin = sub.add_parser("twin", help="数字孪生底座").add_subparsers(title="数字孪生底座命令")
    p = twin.add_parser("snapshot", help="导出全街道快照（GeoJSON，带时间戳）")
    p.set_defaults(run=cmd_twin_snapshot, command="twin")
    p.add_argument("--street", required=True)
    p.add_argument(
        "--layers", default="staff,sensors,orders,alarms", help="逗号分隔：places,staff,sensors,orders,alarms"
    )
    p.add_argument("-o", "--output", help="输出文件（默认标准输出）")
    p.add_argument("--database-url")

    db = sub.add_parser("db", help="数据库").add_subparsers(title="数据库命令")
    p = db.add_parser("upgrade", help="升级数据库结构到最新版本")
    p.set_defaults(run=cmd_db_upgrade)
    p.add_argument("--database-url")

    p = command(
        "backup",
        "备份数据库（运行中也可）：PostgreSQL 用 pg_dump -Fc，SQLite 用在线备份；恢复见 restore",
        cmd_backup,
    )
    p.add_argument("file", help="备份文件（如 backup/chengyun-20261125.dump）")
    p = command(
        "restore",
        "把 backup 生成的备份恢复到一个新建的空数据库（PostgreSQL 用 pg_restore，SQLite 为新文件）",
        cmd_restore,
    )
    p.add_argument("file", help="备份文件")

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

    from chengyun.services.audit import AuditAction

    p = sub.add_parser(
        "audit",
        help="审计日志：谁查看了诉求人联系方式、谁签发或吊销了令牌（新的在前）；"
        "prune：把半年以前的记录归档到文件后从数据库删除",
    )
    p.set_defaults(run=cmd_audit)
    p.add_argument("what", nargs="?", choices=["list", "prune"], default="list", help="list（默认）或 prune")
    p.add_argument("--since", help="list：起始时间（带时区）")
    p.add_argument("--action", choices=[a.value for a in AuditAction], help="list：只看这一类")
    p.add_argument("--limit", type=int, default=200, help="list：最多几条")
    p.add_argument("--before", help="prune：清理此时间以前的记录（带时区；须在 180 天以前）")
    p.add_argument("--archive", help="prune：归档文件（JSON Lines，以 .gz 结尾则压缩；不覆盖已有文件）")
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

    from chengyun.services.community.imports import ImportKind

    p = command(
        "community",
        "社区服务（便民集市、志愿服务、招聘会、旧住房改造、党建网格）：导入或导出 CSV，为摊主签发令牌",
        cmd_community,
    )
    p.add_argument("action", choices=["import", "export", "token"])
    p.add_argument("kind", nargs="?", choices=[k.value for k in ImportKind], help="数据类别")
    p.add_argument("file", nargs="?", help="import：CSV 文件（UTF-8，带表头）")
    p.add_argument("--street", required=True)
    p.add_argument("--org", help="token：服务单位编码")
    p.add_argument("-o", "--output", help="export：输出文件（默认标准输出）")

    p = command(
        "report",
        "考核报告（XLSX、HTML、PDF）与分析研判（热点、顽症、趋势、每日研判）",
        cmd_report,
    )
    p.add_argument("what", choices=["assessment", "hotspots", "recurrences", "trends", "brief"])
    p.add_argument("--street", required=True, help="街道编码")
    p.add_argument("--from", dest="from_", help="起始日期（含），如 2026-11-01；默认截止日期前 29 天")
    p.add_argument("--to", help="截止日期（含），默认今天")
    p.add_argument("--date", help="brief：研判日期，默认今天")
    p.add_argument(
        "--by", choices=["staff", "area", "department", "category"], default="area", help="统计维度"
    )
    p.add_argument("--format", choices=["xlsx", "html", "pdf", "json", "text"], default="xlsx")
    p.add_argument("--category", help="hotspots、recurrences：只看某一类别")
    p.add_argument("--place", choices=["grid", "h3"], default="grid", help="hotspots：单元网格或 H3 六边形")
    p.add_argument("--out", help="输出文件（assessment 必填；其余默认标准输出）")

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
