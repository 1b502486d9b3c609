"""Parses Lockstep's iCalendar feed of the seed example with an independent parser
(Python's `icalendar`) and checks the events against the plan in examples/q1-2025.

Run by .ci/run as: python3 calendar_check.py PATH/TO/lockstep
It applies the example to a temporary SQLite log, exports the release feed, then serves it
with `lockstep serve` on 127.0.0.1 and fetches it over HTTP at its per-user token URL (as a
calendar app does), and fails (exit 1) on any mismatch in either. It talks to nothing but
the local binary.
"""

import datetime as dt
import os
import subprocess
import sys
import tempfile
import urllib.request
import zoneinfo

import icalendar


def main() -> int:
    binary = sys.argv[1]
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LOCKSTEP_DATABASE_URL=f"sqlite://{tmp}/lockstep.db", LOCKSTEP_LOG="warn")
        subprocess.run([binary, "apply", "-f", os.path.join(repo, "examples", "q1-2025")],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        feed = subprocess.run([binary, "calendar", "export", "--release", "q1-2025",
                               "--now", "2025-01-20T12:00:00Z"],
                              env=env, check=True, capture_output=True).stdout
        served = fetch_served(binary, env)
    errors = check(feed, "export", stamped=True) + check(served, "http", stamped=False)
    for error in errors:
        print(f"calendar check: {error}", file=sys.stderr)
    print(f"calendar check: exported and served feeds parsed by icalendar {icalendar.__version__}, "
          f"{len(errors)} mismatches")
    return 1 if errors else 0


def fetch_served(binary, env):
    """The release feed from a real `lockstep serve`, at the URL `user feed-token` gives."""
    subprocess.run([binary, "user", "add", "cal", "--member", "mike"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    token = subprocess.run([binary, "user", "feed-token", "cal"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--no-deliver"],
                              env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        address = line.split("http://", 1)[1].split("/", 1)[0]
        url = f"http://{address}/feeds/{token}/releases/q1-2025.ics"
        with urllib.request.urlopen(url, timeout=10) as response:
            if response.headers.get_content_type() != "text/calendar":
                raise SystemExit(f"calendar check: served as {response.headers['Content-Type']}")
            return response.read()
    finally:
        server.terminate()
        server.wait(timeout=10)


def check(feed, source, stamped):
    calendar = icalendar.Calendar.from_ical(feed)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    errors = []

    def expect(uid, start, end, summary=None):
        event = events.get(uid)
        if event is None:
            errors.append(f"{source}: missing {uid}")
            return
        got = (event.decoded("DTSTART"), event.decoded("DTEND"))
        if got != (start, end):
            errors.append(f"{source}: {uid}: {got} != {(start, end)}")
        if summary and str(event["SUMMARY"]) != summary:
            errors.append(f"{source}: {uid}: summary {event['SUMMARY']!r} != {summary!r}")
        if stamped and event.decoded("DTSTAMP") != dt.datetime(2025, 1, 20, 12, tzinfo=dt.timezone.utc):
            errors.append(f"{uid}: DTSTAMP {event.decoded('DTSTAMP')}")

    d = dt.date
    expect("release/q1-2025@lockstep", d(2025, 3, 1), d(2025, 3, 2), "Release: Q1 2025 Platform Release")
    expect("release/q1-2025/feature-freeze@lockstep", d(2025, 2, 15), d(2025, 2, 22))
    expect("release/q1-2025/code-freeze@lockstep", d(2025, 2, 22), d(2025, 3, 2))
    expect("release/q1-2025/milestone/api-backend@lockstep", d(2025, 2, 5), d(2025, 2, 6))
    expect("release/q1-2025/milestone/integration-testing@lockstep", d(2025, 2, 15), d(2025, 2, 23))
    new_york = zoneinfo.ZoneInfo("America/New_York")
    for component, hour, minute in [("data-pipeline", 9, 0), ("analytics-api", 9, 30),
                                    ("dashboard-ui", 10, 0), ("mobile-app", 10, 30)]:
        start = dt.datetime(2025, 3, 1, hour, minute, tzinfo=new_york)
        uid = f"release/q1-2025/deployment/{component}@lockstep"
        event = events.get(uid)
        if event is None:
            errors.append(f"missing {uid}")
            continue
        got = event.decoded("DTSTART")
        # Compare instants: 9:00 in New York on March 1 is 14:00 UTC.
        if got != start or got.utcoffset() != dt.timedelta(hours=-5):
            errors.append(f"{uid}: {got} != {start}")
        if event.decoded("DTEND") - got != dt.timedelta(minutes=30):
            errors.append(f"{uid}: not 30 minutes")
    if len(events) != 11:
        errors.append(f"expected 11 events, got {len(events)}")
    if [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] != ["America/New_York"]:
        errors.append("expected one VTIMEZONE, America/New_York")
    return errors


if __name__ == "__main__":
    sys.exit(main())
