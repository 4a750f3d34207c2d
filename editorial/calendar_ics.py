"""The calendar as iCalendar (RFC 5545), for calendar apps: one VEVENT per dated item.

All-day items are all-day events (DTSTART;VALUE=DATE with the next day as DTEND); timed items
are events at their UTC moment. UIDs are the items' own, SEQUENCE is the piece's version (so a
moved piece replaces its old event), DTSTAMP is when the feed was made (`clock.now()`), and the
events are transparent: a deadline does not make anyone busy."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar as ICalendar
from icalendar import Event

from editorial.calendar import Calendar, Item

LANE_WORDS = {"due": "Due", "publish": "Publish"}
PRODID = "-//Editorial//Editorial calendar//EN"


def to_ics(calendar: Calendar, name: str, link: str = "") -> bytes:
    """The calendar's dated items as an iCalendar file named `name`; `link` is the dashboard."""
    feed = ICalendar()
    feed.add("prodid", PRODID)
    feed.add("version", "2.0")
    feed.add("calscale", "GREGORIAN")
    feed.add("method", "PUBLISH")
    feed.add("x-wr-calname", name)
    feed.add("x-wr-timezone", calendar.timezone)
    for item in calendar.items:
        feed.add_component(_event(item, calendar, link))
    return feed.to_ical()


def _event(item: Item, calendar: Calendar, link: str) -> Event:
    entry = item.entry
    event = Event()
    event.add("uid", item.uid)
    event.add("dtstamp", calendar.generated_at)
    if item.all_day:
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
    else:
        event.add("dtstart", item.at)
    event.add("summary", f"{LANE_WORDS[item.lane]}: {entry.title} [{entry.status}]")
    event.add("description", _description(item))
    event.add("categories", [LANE_WORDS[item.lane], entry.status])
    event.add("sequence", entry.version)
    event.add("transp", "TRANSPARENT")
    if link:
        event.add("url", f"{link}?view=week&date={item.day.isoformat()}")
    return event


def _description(item: Item) -> str:
    entry = item.entry
    lines = [
        f"{LANE_WORDS[item.lane]} date of '{entry.slug}' (status: {entry.status}).",
        f"Assignee: {entry.assignee or 'nobody yet'}",
    ]
    lines += [f"{dimension}: {', '.join(terms)}" for dimension, terms in entry.terms.items()]
    return "\n".join(lines)
