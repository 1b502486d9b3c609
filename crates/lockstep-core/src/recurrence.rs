//! Recurrence rules: the part of RFC 5545 `RRULE` that release calendars use,
//! expanded in civil time so that "every other Tuesday at 10:00 Europe/Berlin"
//! stays at 10:00 local across daylight-saving changes.
//!
//! Supported: `FREQ` (`DAILY`, `WEEKLY`, `MONTHLY`, `YEARLY`), `INTERVAL`, `COUNT`,
//! `UNTIL` (a date, a local date-time, or a UTC date-time ending in `Z`, which
//! needs the zone to compare), `BYDAY` (with ordinals such as `2TU` or `-1FR` for
//! monthly and yearly rules), `BYMONTHDAY` (negative from the month's end),
//! `BYMONTH`, `BYSETPOS` and `WKST`. Anything else (`BYHOUR`, `BYWEEKNO`,
//! `BYYEARDAY`, sub-daily frequencies) is refused with the part named, rather than
//! silently ignored. The time of day always comes from the start.
//!
//! Occurrences are the dates the rule selects on or after the start, the way
//! python-dateutil counts them; callers that need the start to be the first
//! occurrence (as RFC 5545 does) check [`Rule::first_is`]. The unit tests' expected
//! dates were produced by python-dateutil, an independent implementation.
//!
//! Written here rather than taken from the `rrule` crate because that crate is
//! built on chrono and chrono-tz, and Lockstep's dates and zones are jiff's.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// How often the rule repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Frequency {
    /// Every `INTERVAL` days.
    Daily,
    /// Every `INTERVAL` weeks.
    Weekly,
    /// Every `INTERVAL` months.
    Monthly,
    /// Every `INTERVAL` years.
    Yearly,
}

impl Frequency {
    fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
            Frequency::Yearly => "YEARLY",
        }
    }
}

/// When the recurrence ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Until {
    /// The last day (inclusive), whatever the time.
    Date(Date),
    /// The last local instant (inclusive).
    Local(DateTime),
    /// The last instant (inclusive), in UTC (`…Z`).
    Utc(DateTime),
}

/// A weekday in `BYDAY`, with an optional ordinal (`2TU`, `-1FR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ByDay {
    /// 1-based from the start of the period, negative from its end; `None` is every.
    pub nth: Option<i8>,
    /// The weekday.
    pub weekday: Weekday,
}

/// A parsed, validated recurrence rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    frequency: Frequency,
    interval: u32,
    count: Option<u32>,
    until: Option<Until>,
    by_day: Vec<ByDay>,
    by_month_day: Vec<i8>,
    by_month: Vec<i8>,
    by_set_pos: Vec<i16>,
    week_start: Weekday,
}

/// Why a rule was refused: the offending part and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid recurrence rule `{rule}`: {message}")]
pub struct RuleError {
    /// The rule as written.
    pub rule: String,
    /// What is wrong, naming the part.
    pub message: String,
}

/// Periods in a row that may select nothing before expansion gives up (a rule
/// such as `FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30` selects nothing, ever).
const MAX_EMPTY_PERIODS: u32 = 2_000;

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Monday),
    ("TU", Weekday::Tuesday),
    ("WE", Weekday::Wednesday),
    ("TH", Weekday::Thursday),
    ("FR", Weekday::Friday),
    ("SA", Weekday::Saturday),
    ("SU", Weekday::Sunday),
];

fn weekday_code(weekday: Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(_, w)| *w == weekday)
        .map_or("MO", |(code, _)| code)
}

fn parse_weekday(code: &str) -> Option<Weekday> {
    WEEKDAYS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, w)| *w)
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Rule, RuleError> {
        let fail = |message: String| RuleError {
            rule: text.to_owned(),
            message,
        };
        let body = text.trim();
        let body = body
            .strip_prefix("RRULE:")
            .or_else(|| body.strip_prefix("rrule:"))
            .unwrap_or(body);
        if body.is_empty() {
            return Err(fail(
                "it is empty: start with FREQ=, e.g. `FREQ=WEEKLY;BYDAY=TU`".into(),
            ));
        }
        let mut frequency = None;
        let mut rule = Rule {
            frequency: Frequency::Daily,
            interval: 1,
            count: None,
            until: None,
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_month: Vec::new(),
            by_set_pos: Vec::new(),
            week_start: Weekday::Monday,
        };
        let mut seen = Vec::new();
        for part in body.split(';').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| fail(format!("`{part}` is not NAME=VALUE")))?;
            let key = key.trim().to_ascii_uppercase();
            let value = value.trim();
            if seen.contains(&key) {
                return Err(fail(format!("{key} is given twice")));
            }
            seen.push(key.clone());
            let list =
                |what: &str, min: i64, max: i64, zero: bool| -> Result<Vec<i64>, RuleError> {
                    value
                        .split(',')
                        .map(|v| {
                            let n: i64 = v
                                .trim()
                                .parse()
                                .map_err(|_| fail(format!("{key}: `{v}` is not a {what}")))?;
                            if n < min || n > max || (n == 0 && !zero) {
                                return Err(fail(format!(
                                    "{key}: {n} is out of range ({min} to {max}{})",
                                    if zero { "" } else { ", not 0" }
                                )));
                            }
                            Ok(n)
                        })
                        .collect()
                };
            match key.as_str() {
                "FREQ" => {
                    frequency = Some(match value.to_ascii_uppercase().as_str() {
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        "MONTHLY" => Frequency::Monthly,
                        "YEARLY" => Frequency::Yearly,
                        "HOURLY" | "MINUTELY" | "SECONDLY" => {
                            return Err(fail(format!(
                                "FREQ={value} is not supported: release calendars recur by day, week, month or year"
                            )));
                        }
                        _ => {
                            return Err(fail(format!(
                                "FREQ=`{value}` is not one of DAILY, WEEKLY, MONTHLY, YEARLY"
                            )));
                        }
                    })
                }
                "INTERVAL" => {
                    rule.interval = list("number", 1, 1000, false)?[0] as u32;
                    if value.contains(',') {
                        return Err(fail("INTERVAL takes one number".into()));
                    }
                }
                "COUNT" => {
                    rule.count = Some(list("number", 1, 100_000, false)?[0] as u32);
                    if value.contains(',') {
                        return Err(fail("COUNT takes one number".into()));
                    }
                }
                "UNTIL" => rule.until = Some(parse_until(value).map_err(&fail)?),
                "BYDAY" => {
                    for code in value.split(',') {
                        let code = code.trim();
                        let split = code.len().saturating_sub(2);
                        let (nth, day) = code.split_at(split);
                        let weekday = parse_weekday(day).ok_or_else(|| {
                            fail(format!("BYDAY: `{code}` is not a weekday (MO, TU, WE, TH, FR, SA, SU, optionally with an ordinal such as 2TU or -1FR)"))
                        })?;
                        let nth = if nth.is_empty() {
                            None
                        } else {
                            let n: i8 = nth.parse().map_err(|_| {
                                fail(format!("BYDAY: `{nth}` in `{code}` is not an ordinal"))
                            })?;
                            if n == 0 || !(-53..=53).contains(&n) {
                                return Err(fail(format!(
                                    "BYDAY: ordinal {n} in `{code}` is out of range (1 to 53 or -53 to -1)"
                                )));
                            }
                            Some(n)
                        };
                        rule.by_day.push(ByDay { nth, weekday });
                    }
                }
                "BYMONTHDAY" => {
                    rule.by_month_day = list("day of the month", -31, 31, false)?
                        .into_iter()
                        .map(|n| n as i8)
                        .collect()
                }
                "BYMONTH" => {
                    rule.by_month = list("month", 1, 12, false)?
                        .into_iter()
                        .map(|n| n as i8)
                        .collect()
                }
                "BYSETPOS" => {
                    rule.by_set_pos = list("position", -366, 366, false)?
                        .into_iter()
                        .map(|n| n as i16)
                        .collect()
                }
                "WKST" => {
                    rule.week_start = parse_weekday(value).ok_or_else(|| {
                        fail(format!("WKST: `{value}` is not a weekday (MO … SU)"))
                    })?
                }
                "BYHOUR" | "BYMINUTE" | "BYSECOND" | "BYWEEKNO" | "BYYEARDAY" | "RSCALE"
                | "SKIP" => {
                    return Err(fail(format!(
                        "{key} is not supported: the time of day comes from the start"
                    )));
                }
                _ => return Err(fail(format!("`{key}` is not a recurrence rule part"))),
            }
        }
        rule.frequency =
            frequency.ok_or_else(|| fail("FREQ is missing, e.g. `FREQ=WEEKLY;BYDAY=TU`".into()))?;
        if rule.count.is_some() && rule.until.is_some() {
            return Err(fail("COUNT and UNTIL cannot both be given".into()));
        }
        let ordinals = rule.by_day.iter().any(|d| d.nth.is_some());
        match rule.frequency {
            Frequency::Daily | Frequency::Weekly if ordinals => {
                return Err(fail(format!(
                    "BYDAY ordinals such as 2TU only make sense with FREQ=MONTHLY or YEARLY, not {}",
                    rule.frequency.as_str()
                )));
            }
            Frequency::Weekly if !rule.by_month_day.is_empty() => {
                return Err(fail("BYMONTHDAY cannot be used with FREQ=WEEKLY".into()));
            }
            Frequency::Yearly if ordinals && rule.by_month.is_empty() => {
                return Err(fail(
                    "BYDAY ordinals in a yearly rule need BYMONTH (e.g. `FREQ=YEARLY;BYMONTH=11;BYDAY=4TH`)"
                        .into(),
                ));
            }
            _ => {}
        }
        Ok(rule)
    }
}

fn parse_until(value: &str) -> Result<Until, String> {
    let bad = || {
        format!(
            "UNTIL: `{value}` is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS, optionally ending in Z)"
        )
    };
    let digits = |s: &str| -> Result<i32, String> { s.parse::<i32>().map_err(|_| bad()) };
    let (date, rest) = value.split_at(value.len().min(8));
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let date = Date::new(
        digits(&date[..4])? as i16,
        digits(&date[4..6])? as i8,
        digits(&date[6..8])? as i8,
    )
    .map_err(|_| bad())?;
    if rest.is_empty() {
        return Ok(Until::Date(date));
    }
    let (time, utc) = match rest.strip_suffix('Z') {
        Some(time) => (time, true),
        None => (rest, false),
    };
    let time = time.strip_prefix('T').ok_or_else(bad)?;
    if time.len() != 6 || !time.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let time = jiff::civil::Time::new(
        digits(&time[..2])? as i8,
        digits(&time[2..4])? as i8,
        digits(&time[4..6])? as i8,
        0,
    )
    .map_err(|_| bad())?;
    let at = date.to_datetime(time);
    Ok(if utc {
        Until::Utc(at)
    } else {
        Until::Local(at)
    })
}

impl fmt::Display for Rule {
    /// The canonical `RRULE` value (without the `RRULE:` prefix), as iCalendar
    /// feeds carry it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FREQ={}", self.frequency.as_str())?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        match self.until {
            Some(Until::Date(d)) => write!(f, ";UNTIL={}", d.strftime("%Y%m%d"))?,
            Some(Until::Local(at)) => write!(f, ";UNTIL={}", at.strftime("%Y%m%dT%H%M%S"))?,
            Some(Until::Utc(at)) => write!(f, ";UNTIL={}", at.strftime("%Y%m%dT%H%M%SZ"))?,
            None => {}
        }
        let join = |values: Vec<String>| values.join(",");
        if !self.by_month.is_empty() {
            write!(
                f,
                ";BYMONTH={}",
                join(self.by_month.iter().map(i8::to_string).collect())
            )?;
        }
        if !self.by_month_day.is_empty() {
            write!(
                f,
                ";BYMONTHDAY={}",
                join(self.by_month_day.iter().map(i8::to_string).collect())
            )?;
        }
        if !self.by_day.is_empty() {
            let days = self
                .by_day
                .iter()
                .map(|d| {
                    format!(
                        "{}{}",
                        d.nth.map(|n| n.to_string()).unwrap_or_default(),
                        weekday_code(d.weekday)
                    )
                })
                .collect();
            write!(f, ";BYDAY={}", join(days))?;
        }
        if !self.by_set_pos.is_empty() {
            write!(
                f,
                ";BYSETPOS={}",
                join(self.by_set_pos.iter().map(i16::to_string).collect())
            )?;
        }
        if self.week_start != Weekday::Monday {
            write!(f, ";WKST={}", weekday_code(self.week_start))?;
        }
        Ok(())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Rule, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

use crate::add_days;

fn add_months(first_of_month: Date, months: i64) -> Option<Date> {
    first_of_month
        .checked_add(jiff::Span::new().months(months))
        .ok()
}

/// The days of one month that `BYMONTHDAY` and `BYDAY` (ordinals relative to the
/// month) select; with neither, the start's day of the month.
fn month_candidates(rule: &Rule, first: Date, start_day: i8) -> Vec<Date> {
    let length = first.days_in_month();
    let in_month = |day: i8| -> Option<Date> {
        let day = if day < 0 { length + 1 + day } else { day };
        (1..=length)
            .contains(&day)
            .then(|| Date::new(first.year(), first.month(), day).ok())
            .flatten()
    };
    let by_month_day: Vec<Date> = rule
        .by_month_day
        .iter()
        .filter_map(|d| in_month(*d))
        .collect();
    let by_day: Vec<Date> = rule
        .by_day
        .iter()
        .flat_map(|d| match d.nth {
            Some(nth) => first
                .nth_weekday_of_month(nth, d.weekday)
                .ok()
                .into_iter()
                .collect::<Vec<_>>(),
            None => (1..=length)
                .filter_map(in_month)
                .filter(|date| date.weekday() == d.weekday)
                .collect(),
        })
        .collect();
    let mut days = match (rule.by_month_day.is_empty(), rule.by_day.is_empty()) {
        (true, true) => in_month(start_day).into_iter().collect(),
        (false, true) => by_month_day,
        (true, false) => by_day,
        (false, false) => by_month_day
            .into_iter()
            .filter(|d| by_day.contains(d))
            .collect(),
    };
    days.sort();
    days.dedup();
    days
}

impl Rule {
    /// The dates of one period (a day, week, month or year) that the rule
    /// selects, in order, before `COUNT`/`UNTIL` and before the start is applied.
    fn period(&self, start: Date, index: i64) -> Option<Vec<Date>> {
        let step = index * i64::from(self.interval);
        let month_ok = |d: &Date| self.by_month.is_empty() || self.by_month.contains(&d.month());
        let weekday_ok = |d: &Date| {
            self.by_day.is_empty() || self.by_day.iter().any(|b| b.weekday == d.weekday())
        };
        let month_day_ok = |d: &Date| {
            self.by_month_day.is_empty()
                || self.by_month_day.iter().any(|&m| {
                    let length = d.days_in_month();
                    let day = if m < 0 { length + 1 + m } else { m };
                    day == d.day()
                })
        };
        let mut days: Vec<Date> = match self.frequency {
            Frequency::Daily => {
                let day = add_days(start, step)?;
                [day]
                    .into_iter()
                    .filter(|d| month_ok(d) && weekday_ok(d) && month_day_ok(d))
                    .collect()
            }
            Frequency::Weekly => {
                let back = (7 + start.weekday().to_monday_zero_offset()
                    - self.week_start.to_monday_zero_offset())
                    % 7;
                let week = add_days(start, 7 * step - i64::from(back))?;
                let wanted: Vec<Weekday> = if self.by_day.is_empty() {
                    vec![start.weekday()]
                } else {
                    self.by_day.iter().map(|d| d.weekday).collect()
                };
                (0..7)
                    .filter_map(|offset| add_days(week, offset))
                    .filter(|d| wanted.contains(&d.weekday()) && month_ok(d))
                    .collect()
            }
            Frequency::Monthly => {
                let first = add_months(start.first_of_month(), step)?;
                if month_ok(&first) {
                    month_candidates(self, first, start.day())
                } else {
                    Vec::new()
                }
            }
            Frequency::Yearly => {
                let year = i64::from(start.year()) + step;
                let year = i16::try_from(year).ok()?;
                let months: Vec<i8> = if self.by_month.is_empty() {
                    vec![start.month()]
                } else {
                    self.by_month.clone()
                };
                if self.by_month.is_empty() && !self.by_day.is_empty() {
                    // BYDAY without BYMONTH in a yearly rule: every such weekday of the year.
                    let jan = Date::new(year, 1, 1).ok()?;
                    (0..i64::from(jan.days_in_year()))
                        .filter_map(|offset| add_days(jan, offset))
                        .filter(|d| weekday_ok(d) && month_day_ok(d))
                        .collect()
                } else {
                    months
                        .iter()
                        .filter_map(|&m| Date::new(year, m, 1).ok())
                        .flat_map(|first| month_candidates(self, first, start.day()))
                        .collect()
                }
            }
        };
        days.sort();
        days.dedup();
        if !self.by_set_pos.is_empty() {
            let n = days.len() as i64;
            let mut picked: Vec<Date> = self
                .by_set_pos
                .iter()
                .filter_map(|&pos| {
                    let pos = i64::from(pos);
                    let index = if pos > 0 { pos - 1 } else { n + pos };
                    (0..n).contains(&index).then(|| days[index as usize])
                })
                .collect();
            picked.sort();
            picked.dedup();
            days = picked;
        }
        Some(days)
    }

    /// Every occurrence on or after `start`, at the start's time of day, honouring
    /// `COUNT` and `UNTIL`. `zone` is needed only for an `UNTIL` in UTC; without
    /// it such a rule is compared in local time. The iterator ends when the rule
    /// does, or when it selects nothing for a long run of periods.
    pub fn occurrences<'a>(
        &'a self,
        start: DateTime,
        zone: Option<&'a TimeZone>,
    ) -> impl Iterator<Item = DateTime> + 'a {
        let until = self.until.and_then(|until| match until {
            Until::Date(d) => Some(d.to_datetime(jiff::civil::Time::MAX)),
            Until::Local(at) => Some(at),
            Until::Utc(at) => match zone {
                Some(zone) => at
                    .to_zoned_datetime(TimeZone::UTC)
                    .ok()
                    .map(|z| z.with_time_zone(zone.clone()).datetime()),
                None => Some(at),
            },
        });
        let mut index = 0_i64;
        let mut empty_run = 0_u32;
        let mut emitted = 0_u32;
        let mut pending: std::vec::IntoIter<Date> = Vec::new().into_iter();
        let mut done = false;
        std::iter::from_fn(move || {
            loop {
                if done {
                    return None;
                }
                if let Some(date) = pending.next() {
                    let at = date.to_datetime(start.time());
                    if at < start {
                        continue;
                    }
                    if until.is_some_and(|u| at > u) || self.count.is_some_and(|c| emitted >= c) {
                        done = true;
                        return None;
                    }
                    emitted += 1;
                    return Some(at);
                }
                let days = match self.period(start.date(), index) {
                    Some(days) => days,
                    None => {
                        done = true;
                        return None;
                    }
                };
                index += 1;
                if days.is_empty() {
                    empty_run += 1;
                    if empty_run >= MAX_EMPTY_PERIODS {
                        done = true;
                        return None;
                    }
                } else {
                    empty_run = 0;
                }
                pending = days.into_iter();
            }
        })
    }

    /// Whether `start` is itself the first occurrence, as RFC 5545 expects of a
    /// `DTSTART`.
    pub fn first_is(&self, start: DateTime) -> bool {
        self.occurrences(start, None).next() == Some(start)
    }

    /// The rule as an iCalendar `RRULE` value for an event whose `DTSTART` is local
    /// time in `zone`: RFC 5545 then wants `UNTIL` in UTC, so a date or local
    /// `UNTIL` is converted (a date means the end of that day).
    pub fn to_ical(&self, zone: &TimeZone) -> String {
        let utc = |at: DateTime| {
            at.to_zoned_datetime(zone.clone())
                .ok()
                .map(|z| z.with_time_zone(TimeZone::UTC).datetime())
        };
        let until = match self.until {
            Some(Until::Date(d)) => utc(d.to_datetime(
                jiff::civil::Time::new(23, 59, 59, 0).unwrap_or(jiff::civil::Time::MAX),
            ))
            .map(Until::Utc),
            Some(Until::Local(at)) => utc(at).map(Until::Utc),
            other => other,
        };
        Rule {
            until: until.or(self.until),
            ..self.clone()
        }
        .to_string()
    }

    /// Whether the rule ends (by `COUNT` or `UNTIL`).
    pub fn is_bounded(&self) -> bool {
        self.count.is_some() || self.until.is_some()
    }
}

/// How a window repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat<'a> {
    /// It happens once.
    Once,
    /// By an RFC 5545 rule.
    Rule(&'a Rule),
    /// At every time a cron expression selects.
    Cron(&'a crate::cron::Cron),
}

impl<'a> Repeat<'a> {
    /// The repetition of a window with these optional fields; a rule wins over a
    /// cron expression (validation refuses windows that set both).
    pub fn of(rule: Option<&'a Rule>, cron: Option<&'a crate::cron::Cron>) -> Repeat<'a> {
        match (rule, cron) {
            (Some(rule), _) => Repeat::Rule(rule),
            (None, Some(cron)) => Repeat::Cron(cron),
            (None, None) => Repeat::Once,
        }
    }
}

/// The occurrences of the window `[start, end)`, repeated as `repeat` says, that
/// overlap `[from, to)`; all in one zone's civil time. Each occurrence is as long
/// as the first.
pub fn window_occurrences(
    start: DateTime,
    end: DateTime,
    repeat: Repeat<'_>,
    from: DateTime,
    to: DateTime,
    zone: Option<&TimeZone>,
) -> Vec<(DateTime, DateTime)> {
    let length = start.duration_until(end);
    // An occurrence that starts by `from - length` ends by `from`: skip ahead.
    let earliest = from
        .checked_sub(length)
        .map_or(start, |earliest| earliest.max(start));
    let starts: Box<dyn Iterator<Item = DateTime>> = match repeat {
        Repeat::Once => Box::new(std::iter::once(start)),
        Repeat::Rule(rule) => Box::new(rule.occurrences(start, zone)),
        Repeat::Cron(cron) => Box::new(cron.occurrences(earliest)),
    };
    starts
        .take_while(|at| *at < to)
        .filter_map(|at| Some((at, at.checked_add(length).ok()?)))
        .filter(|(_, end)| from < *end)
        .collect()
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn expand(rule: &str, start: DateTime, n: usize) -> Vec<String> {
        let rule: Rule = rule.parse().expect("valid");
        rule.occurrences(start, None)
            .take(n)
            .map(|d| d.strftime("%Y-%m-%d %H:%M").to_string())
            .collect()
    }

    // Expected values printed by python-dateutil 2.9:
    // list(rrule(..., dtstart=...))[:n], formatted as %Y-%m-%d %H:%M.
    #[test]
    fn every_other_tuesday() {
        assert_eq!(
            expand(
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
                date(2025, 1, 7).at(10, 0, 0, 0),
                5
            ),
            [
                "2025-01-07 10:00",
                "2025-01-21 10:00",
                "2025-02-04 10:00",
                "2025-02-18 10:00",
                "2025-03-04 10:00"
            ]
        );
    }

    #[test]
    fn weekly_interval_counts_weeks_from_the_week_start() {
        // Start on a Thursday, every other week on Tuesday and Thursday: the
        // Tuesday of the start week is before the start and is skipped.
        assert_eq!(
            expand(
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
                date(2025, 1, 9).at(9, 30, 0, 0),
                4
            ),
            [
                "2025-01-09 09:30",
                "2025-01-21 09:30",
                "2025-01-23 09:30",
                "2025-02-04 09:30"
            ]
        );
        // With the week starting on Sunday, a Sunday start and BYDAY=SU,TU.
        assert_eq!(
            expand(
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU;WKST=SU",
                date(2025, 1, 5).at(8, 0, 0, 0),
                4
            ),
            [
                "2025-01-05 08:00",
                "2025-01-07 08:00",
                "2025-01-19 08:00",
                "2025-01-21 08:00"
            ]
        );
    }

    #[test]
    fn last_friday_of_the_month_and_second_tuesday() {
        assert_eq!(
            expand(
                "FREQ=MONTHLY;BYDAY=-1FR",
                date(2025, 1, 31).at(17, 0, 0, 0),
                4
            ),
            [
                "2025-01-31 17:00",
                "2025-02-28 17:00",
                "2025-03-28 17:00",
                "2025-04-25 17:00"
            ]
        );
        assert_eq!(
            expand(
                "FREQ=MONTHLY;BYDAY=2TU;COUNT=3",
                date(2025, 1, 1).at(0, 0, 0, 0),
                10
            ),
            ["2025-01-14 00:00", "2025-02-11 00:00", "2025-03-11 00:00"]
        );
    }

    #[test]
    fn month_days_that_do_not_exist_are_skipped_and_negative_days_count_back() {
        assert_eq!(
            expand(
                "FREQ=MONTHLY;BYMONTHDAY=31",
                date(2025, 1, 31).at(0, 0, 0, 0),
                4
            ),
            [
                "2025-01-31 00:00",
                "2025-03-31 00:00",
                "2025-05-31 00:00",
                "2025-07-31 00:00"
            ]
        );
        assert_eq!(
            expand(
                "FREQ=MONTHLY;BYMONTHDAY=-1",
                date(2025, 1, 31).at(0, 0, 0, 0),
                3
            ),
            ["2025-01-31 00:00", "2025-02-28 00:00", "2025-03-31 00:00"]
        );
        // No BYMONTHDAY: the start's day, skipping months without it.
        assert_eq!(
            expand("FREQ=MONTHLY", date(2025, 1, 30).at(0, 0, 0, 0), 3),
            ["2025-01-30 00:00", "2025-03-30 00:00", "2025-04-30 00:00"]
        );
    }

    #[test]
    fn last_weekday_of_the_month_with_bysetpos() {
        assert_eq!(
            expand(
                "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
                date(2025, 5, 1).at(18, 0, 0, 0),
                4
            ),
            [
                "2025-05-30 18:00",
                "2025-06-30 18:00",
                "2025-07-31 18:00",
                "2025-08-29 18:00"
            ]
        );
    }

    #[test]
    fn yearly_quarter_end_and_thanksgiving() {
        assert_eq!(
            expand(
                "FREQ=YEARLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
                date(2025, 3, 31).at(0, 0, 0, 0),
                5
            ),
            [
                "2025-03-31 00:00",
                "2025-06-30 00:00",
                "2025-09-30 00:00",
                "2025-12-31 00:00",
                "2026-03-31 00:00"
            ]
        );
        assert_eq!(
            expand(
                "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
                date(2025, 1, 1).at(0, 0, 0, 0),
                3
            ),
            ["2025-11-27 00:00", "2026-11-26 00:00", "2027-11-25 00:00"]
        );
        assert_eq!(
            expand("FREQ=YEARLY", date(2024, 2, 29).at(0, 0, 0, 0), 2),
            ["2024-02-29 00:00", "2028-02-29 00:00"]
        );
    }

    #[test]
    fn daily_with_filters_until_and_count() {
        assert_eq!(
            expand(
                "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20250110",
                date(2025, 1, 6).at(9, 0, 0, 0),
                10
            ),
            [
                "2025-01-06 09:00",
                "2025-01-07 09:00",
                "2025-01-08 09:00",
                "2025-01-09 09:00",
                "2025-01-10 09:00"
            ]
        );
        assert_eq!(
            expand(
                "FREQ=DAILY;INTERVAL=3;COUNT=3",
                date(2025, 12, 30).at(0, 0, 0, 0),
                10
            ),
            ["2025-12-30 00:00", "2026-01-02 00:00", "2026-01-05 00:00"]
        );
        // UNTIL as a local date-time is inclusive.
        assert_eq!(
            expand(
                "FREQ=WEEKLY;UNTIL=20250114T100000",
                date(2025, 1, 7).at(10, 0, 0, 0),
                10
            ),
            ["2025-01-07 10:00", "2025-01-14 10:00"]
        );
    }

    #[test]
    fn until_in_utc_is_compared_in_the_zone() {
        let rule: Rule = "FREQ=DAILY;UNTIL=20250108T090000Z".parse().expect("valid");
        let berlin = TimeZone::get("Europe/Berlin").expect("valid");
        // 09:00Z is 10:00 in Berlin in winter: the 10:00 occurrence on the 8th counts.
        let got: Vec<DateTime> = rule
            .occurrences(date(2025, 1, 7).at(10, 0, 0, 0), Some(&berlin))
            .collect();
        assert_eq!(
            got,
            [
                date(2025, 1, 7).at(10, 0, 0, 0),
                date(2025, 1, 8).at(10, 0, 0, 0)
            ]
        );
    }

    #[test]
    fn rules_that_never_match_end_instead_of_looping() {
        let rule: Rule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"
            .parse()
            .expect("valid");
        assert_eq!(
            rule.occurrences(date(2025, 1, 1).at(0, 0, 0, 0), None)
                .count(),
            0
        );
    }

    #[test]
    fn first_is_tells_whether_the_start_is_an_occurrence() {
        let rule: Rule = "FREQ=WEEKLY;BYDAY=TU".parse().expect("valid");
        assert!(rule.first_is(date(2025, 1, 7).at(10, 0, 0, 0)));
        assert!(!rule.first_is(date(2025, 1, 8).at(10, 0, 0, 0)));
    }

    #[test]
    fn ical_until_is_utc() {
        let berlin = TimeZone::get("Europe/Berlin").expect("zone");
        let rule: Rule = "FREQ=WEEKLY;UNTIL=20250630;BYDAY=FR"
            .parse()
            .expect("valid");
        // The end of June 30 in Berlin (summer time, UTC+2) is 21:59:59 UTC.
        assert_eq!(
            rule.to_ical(&berlin),
            "FREQ=WEEKLY;UNTIL=20250630T215959Z;BYDAY=FR"
        );
        let local: Rule = "FREQ=DAILY;UNTIL=20250110T100000".parse().expect("valid");
        assert_eq!(local.to_ical(&berlin), "FREQ=DAILY;UNTIL=20250110T090000Z");
        let counted: Rule = "FREQ=YEARLY;COUNT=3".parse().expect("valid");
        assert_eq!(counted.to_ical(&berlin), "FREQ=YEARLY;COUNT=3");
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            "FREQ=MONTHLY;COUNT=3;BYDAY=-1FR",
            "FREQ=YEARLY;UNTIL=20300101;BYMONTH=3,6,9,12;BYMONTHDAY=-1",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;WKST=SU",
            "FREQ=DAILY;UNTIL=20250108T090000Z",
        ] {
            let rule: Rule = text.parse().expect("valid");
            assert_eq!(rule.to_string(), text);
            assert_eq!(rule.to_string().parse::<Rule>().expect("valid"), rule);
        }
        let lower: Rule = "rrule:freq=weekly;byday=tu".parse().expect("valid");
        assert_eq!(lower.to_string(), "FREQ=WEEKLY;BYDAY=TU");
    }

    #[test]
    fn bad_rules_name_the_part() {
        for (text, needle) in [
            ("", "empty"),
            ("BYDAY=TU", "FREQ is missing"),
            ("FREQ=FORTNIGHTLY", "not one of DAILY"),
            ("FREQ=HOURLY", "not supported"),
            ("FREQ=WEEKLY;BYDAY=XX", "`XX` is not a weekday"),
            ("FREQ=WEEKLY;BYDAY=2TU", "ordinals"),
            ("FREQ=MONTHLY;BYDAY=0TU", "out of range"),
            ("FREQ=MONTHLY;BYMONTHDAY=32", "out of range"),
            ("FREQ=MONTHLY;BYMONTHDAY=0", "not 0"),
            ("FREQ=YEARLY;BYMONTH=13", "out of range"),
            ("FREQ=DAILY;INTERVAL=0", "out of range"),
            ("FREQ=DAILY;INTERVAL=x", "not a number"),
            ("FREQ=DAILY;COUNT=2;UNTIL=20250101", "cannot both"),
            ("FREQ=DAILY;UNTIL=2025-01-01", "UNTIL"),
            ("FREQ=DAILY;UNTIL=20251301", "UNTIL"),
            ("FREQ=DAILY;BYHOUR=9", "BYHOUR is not supported"),
            ("FREQ=DAILY;FREQ=WEEKLY", "twice"),
            ("FREQ=DAILY;COLOR=red", "not a recurrence rule part"),
            ("FREQ=DAILY;BYDAY", "NAME=VALUE"),
            ("FREQ=YEARLY;BYDAY=1MO", "need BYMONTH"),
            ("FREQ=WEEKLY;BYMONTHDAY=1", "WEEKLY"),
        ] {
            let error = text.parse::<Rule>().expect_err("refused");
            assert!(
                error.to_string().contains(needle),
                "`{text}`: {error} should mention {needle}"
            );
        }
    }
}
