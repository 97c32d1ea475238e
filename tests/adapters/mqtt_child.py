"""A worker process for the kill-and-restart test: MqttIngestor whose sink stores each message's sequence
number in a SQLite file (INSERT OR IGNORE, committed per batch). Prints "ready" once subscribed.

Usage: python mqtt_child.py URL CLIENT_ID TOPIC DB_PATH
"""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import threading
from collections.abc import Sequence

from chengyun.adapters.mqtt import MqttConfig, MqttIngestor


def main() -> None:
    url, client_id, topic, db_path = sys.argv[1:5]
    db = sqlite3.connect(db_path, check_same_thread=False)
    db.execute("CREATE TABLE IF NOT EXISTS seen (seq INTEGER PRIMARY KEY)")
    db.commit()

    def sink(batch: Sequence[tuple[str, bytes]]) -> None:
        db.executemany(
            "INSERT OR IGNORE INTO seen (seq) VALUES (?)", [(json.loads(p)["seq"],) for _, p in batch]
        )
        db.commit()

    ingestor = MqttIngestor(
        MqttConfig(url=url, client_id=client_id, topic=topic, share_group=None, session_expiry=120), sink
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    ingestor.start()
    if not ingestor.wait_connected(10):
        sys.exit("no connection to the broker")
    print("ready", flush=True)
    done.wait()
    ingestor.stop()


if __name__ == "__main__":
    main()
