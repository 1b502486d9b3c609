//! Cron expressions for repeating windows, for teams whose freezes are already
//! written as crontab lines (`0 16 * * FRI`: Fridays from 16:00).
//!
//! The five fields of Vixie cron, `minute hour day-of-month month day-of-week`,
//! each `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n`, or a list of
//! those; months `JAN`–`DEC` and weekdays `SUN`–`SAT` by name, Sunday also as 7;
//! and the macros `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily`
//! (`@midnight`) and `@hourly`. As in Vixie cron, when both day fields are
//! restricted a day matches either (`0 0 1 * MON`: the 1st and every Monday);
//! when one starts with `*` it must match both. Seconds, years and the Quartz
//! extensions (`?`, `L`, `W`, `#`) are refused with the reason, not ignored.
//!
//! Occurrences are civil times in the window's own zone, like the expansion of
//! recurrence rules, so `0 16 * * FRI` stays at 16:00 local across daylight-saving
//! changes.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime};
use serde::{Deserialize, Serialize};

/// A parsed, validated cron expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cron {
    source: String,
    /// Bit `m` for minute `m`.
    minutes: u64,
    /// Bit `h` for hour `h`.
    hours: u32,
    /// Bit `d` for day `d` of the month (1–31).
    days_of_month: u32,
    /// Bit `m` for month `m` (1–12).
    months: u16,
    /// Bit `d` for weekday `d`, Sunday 0.
    days_of_week: u8,
    /// Both day fields restricted: a day matches either (else both).
    either_day: bool,
}

/// Why a cron expression was refused: the offending field and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression `{cron}`: {message}")]
pub struct CronError {
    /// The expression as written.
    pub cron: String,
    /// What is wrong, naming the field.
    pub message: String,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names of the values from `min` on (`JAN` is 1).
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day-of-month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    },
    // 7 is Sunday too; folded onto 0 after parsing.
    Field {
        name: "day-of-week",
        min: 0,
        max: 7,
        names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    },
];

const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

/// Longest day in each month, February counting leap years.
const MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

impl FromStr for Cron {
    type Err = CronError;

    fn from_str(text: &str) -> Result<Cron, CronError> {
        let fail = |message: String| CronError {
            cron: text.to_owned(),
            message,
        };
        let source = text.trim();
        let expanded = if source.starts_with('@') {
            MACROS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(source))
                .map(|(_, fields)| *fields)
                .ok_or_else(|| {
                    fail(format!(
                        "`{source}` is not one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"
                    ))
                })?
        } else {
            source
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != FIELDS.len() {
            return Err(fail(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), got {}{}",
                parts.len(),
                if parts.len() > 5 {
                    ": seconds and years are not supported"
                } else {
                    ""
                }
            )));
        }
        let mut bits = [0_u64; 5];
        let mut starred = [false; 5];
        for (index, (part, field)) in parts.iter().zip(&FIELDS).enumerate() {
            bits[index] = parse_field(part, field)
                .map_err(|message| fail(format!("{} field `{part}`: {message}", field.name)))?;
            starred[index] = part.starts_with('*');
        }
        // Sunday as 7 is Sunday as 0.
        let days_of_week = ((bits[4] | (bits[4] >> 7)) & 0x7f) as u8;
        let cron = Cron {
            source: source.to_owned(),
            minutes: bits[0],
            hours: bits[1] as u32,
            days_of_month: bits[2] as u32,
            months: bits[3] as u16,
            days_of_week,
            either_day: !starred[2] && !starred[4],
        };
        // Days of the month that no selected month has (`0 0 30 FEB *`) select
        // nothing, unless the weekdays can select instead.
        let some_day_exists = (1..=12).any(|month| {
            cron.months & (1 << month) != 0
                && (1..=MONTH_DAYS[month as usize - 1])
                    .any(|day| cron.days_of_month & (1 << day) != 0)
        });
        if !some_day_exists && !cron.either_day {
            return Err(fail(
                "no selected month has the selected day of the month, so it never occurs"
                    .to_owned(),
            ));
        }
        Ok(cron)
    }
}

/// The bit set of one field.
fn parse_field(text: &str, field: &Field) -> Result<u64, String> {
    if let Some(quartz) = ['?', 'L', 'W', '#']
        .into_iter()
        .find(|c| text.to_ascii_uppercase().contains(*c) && !is_name_with(text, field, *c))
    {
        return Err(format!("`{quartz}` is Quartz syntax, not supported"));
    }
    let mut bits = 0_u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err("empty list element".to_owned());
        }
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| format!("step `{step}` is not a number"))?;
                if step == 0 {
                    return Err("a step must be at least 1".to_owned());
                }
                (range, Some(step))
            }
            None => (item, None),
        };
        let (low, high) = if range == "*" {
            (field.min, field.max)
        } else if let Some((low, high)) = range.split_once('-') {
            let (low, high) = (value(low, field)?, value(high, field)?);
            if low > high {
                return Err(format!("range `{range}` runs backwards"));
            }
            (low, high)
        } else {
            let low = value(range, field)?;
            // `a/n` runs from a to the end of the field.
            (low, if step.is_some() { field.max } else { low })
        };
        for v in (low..=high).step_by(step.unwrap_or(1) as usize) {
            bits |= 1 << v;
        }
    }
    Ok(bits)
}

/// Whether `c` in `text` only occurs inside a name of the field (`SAT`, `WED`,
/// `JUL` contain letters the Quartz check looks for).
fn is_name_with(text: &str, field: &Field, c: char) -> bool {
    text.split([',', '-', '/'])
        .filter(|token| token.to_ascii_uppercase().contains(c))
        .all(|token| {
            field
                .names
                .iter()
                .any(|name| name.eq_ignore_ascii_case(token))
        })
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let parsed = match text.parse::<u32>() {
        Ok(number) => number,
        Err(_) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(format!("{text} is outside {}–{}", field.min, field.max));
        }
        Err(_) => field
            .names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(text))
            .map(|index| field.min + index as u32)
            .ok_or_else(|| {
                if field.names.is_empty() {
                    format!("`{text}` is not a number")
                } else {
                    format!(
                        "`{text}` is neither a number nor one of {}",
                        field.names.join(", ")
                    )
                }
            })?,
    };
    if parsed < field.min || parsed > field.max {
        return Err(format!("{parsed} is outside {}–{}", field.min, field.max));
    }
    Ok(parsed)
}

impl Cron {
    /// Whether the expression selects some time on `date`.
    pub fn matches_date(&self, date: Date) -> bool {
        let month = self.months & (1 << date.month()) != 0;
        let day_of_month = self.days_of_month & (1 << date.day()) != 0;
        let day_of_week = self.days_of_week & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        month
            && if self.either_day {
                day_of_month || day_of_week
            } else {
                day_of_month && day_of_week
            }
    }

    /// The selected times at or after `from`, in order, forever.
    pub fn occurrences(&self, from: DateTime) -> impl Iterator<Item = DateTime> + '_ {
        std::iter::successors(Some(from.date()), |date| date.tomorrow().ok())
            .filter(|date| self.matches_date(*date))
            .flat_map(move |date| {
                (0..24_i8)
                    .filter(|hour| self.hours & (1 << hour) != 0)
                    .flat_map(move |hour| {
                        (0..60_i8)
                            .filter(|minute| self.minutes & (1 << minute) != 0)
                            .map(move |minute| date.at(hour, minute, 0, 0))
                    })
            })
            .filter(move |at| *at >= from)
    }

    /// Whether `start` is a selected time (windows start on an occurrence).
    pub fn first_is(&self, start: DateTime) -> bool {
        self.occurrences(start).next() == Some(start)
    }

    /// The same times as one RFC 5545 `RRULE` value for calendar feeds, with the
    /// event starting on an occurrence; `None` when both day fields are
    /// restricted (a rule intersects them, cron unites them).
    pub fn to_ical(&self) -> Option<String> {
        if self.either_day {
            return None;
        }
        let list = |bits: u64, range: std::ops::RangeInclusive<u32>| {
            range
                .filter(|v| bits & (1 << v) != 0)
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut rule = format!(
            "FREQ=DAILY;BYHOUR={};BYMINUTE={}",
            list(u64::from(self.hours), 0..=23),
            list(self.minutes, 0..=59)
        );
        if self.months != 0b1_1111_1111_1110 {
            rule.push_str(&format!(
                ";BYMONTH={}",
                list(u64::from(self.months), 1..=12)
            ));
        }
        if self.days_of_month != 0xffff_fffe {
            rule.push_str(&format!(
                ";BYMONTHDAY={}",
                list(u64::from(self.days_of_month), 1..=31)
            ));
        }
        if self.days_of_week != 0x7f {
            const CODES: [&str; 7] = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
            let days: Vec<&str> = (0..7)
                .filter(|d| self.days_of_week & (1 << d) != 0)
                .map(|d| CODES[d])
                .collect();
            rule.push_str(&format!(";BYDAY={}", days.join(",")));
        }
        Some(rule)
    }
}

impl fmt::Display for Cron {
    /// The expression as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Serialize for Cron {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cron {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Cron, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn expand(cron: &str, from: DateTime, n: usize) -> Vec<String> {
        let cron: Cron = cron.parse().expect("valid");
        cron.occurrences(from)
            .take(n)
            .map(|at| at.strftime("%Y-%m-%d %a %H:%M").to_string())
            .collect()
    }

    fn refusal(cron: &str) -> String {
        cron.parse::<Cron>().expect_err("refused").to_string()
    }

    #[test]
    fn friday_afternoons() {
        // 2025-01-01 is a Wednesday.
        assert_eq!(
            expand("0 16 * * FRI", date(2025, 1, 1).at(0, 0, 0, 0), 3),
            [
                "2025-01-03 Fri 16:00",
                "2025-01-10 Fri 16:00",
                "2025-01-17 Fri 16:00"
            ]
        );
    }

    #[test]
    fn lists_ranges_and_steps() {
        assert_eq!(
            expand("*/30 9-10 * * mon-fri", date(2025, 1, 3).at(9, 15, 0, 0), 5),
            [
                "2025-01-03 Fri 09:30",
                "2025-01-03 Fri 10:00",
                "2025-01-03 Fri 10:30",
                "2025-01-06 Mon 09:00",
                "2025-01-06 Mon 09:30"
            ]
        );
        assert_eq!(
            expand("5/20 0 1,15 JAN,jul *", date(2025, 1, 1).at(0, 0, 0, 0), 4),
            [
                "2025-01-01 Wed 00:05",
                "2025-01-01 Wed 00:25",
                "2025-01-01 Wed 00:45",
                "2025-01-15 Wed 00:05"
            ]
        );
    }

    #[test]
    fn restricted_day_fields_unite_and_a_starred_one_intersects() {
        // The 1st of the month or any Monday (Vixie cron's rule).
        assert_eq!(
            expand("0 0 1 * MON", date(2025, 1, 28).at(0, 0, 0, 0), 3),
            [
                "2025-02-01 Sat 00:00",
                "2025-02-03 Mon 00:00",
                "2025-02-10 Mon 00:00"
            ]
        );
        // The first week of the month or any Friday to Sunday (python-croniter 7
        // agrees, as it does on every expansion in these tests but the next).
        assert_eq!(
            expand("15 8 1-7 * 5-7", date(2025, 3, 6).at(0, 0, 0, 0), 6),
            [
                "2025-03-06 Thu 08:15",
                "2025-03-07 Fri 08:15",
                "2025-03-08 Sat 08:15",
                "2025-03-09 Sun 08:15",
                "2025-03-14 Fri 08:15",
                "2025-03-15 Sat 08:15"
            ]
        );
        // Odd days that are also Sundays: `*/2` starts with `*`, so Vixie cron
        // intersects (croniter unites here, unlike the cron daemons).
        assert_eq!(
            expand("0 0 */2 * 7", date(2025, 1, 1).at(0, 0, 0, 0), 2),
            ["2025-01-05 Sun 00:00", "2025-01-19 Sun 00:00"]
        );
    }

    #[test]
    fn leap_days_and_macros() {
        assert_eq!(
            expand("@yearly", date(2025, 6, 1).at(0, 0, 0, 0), 1),
            ["2026-01-01 Thu 00:00"]
        );
        assert_eq!(
            expand("0 12 29 2 *", date(2025, 1, 1).at(0, 0, 0, 0), 2),
            ["2028-02-29 Tue 12:00", "2032-02-29 Sun 12:00"]
        );
        let weekly: Cron = "@weekly".parse().expect("valid");
        assert!(weekly.first_is(date(2025, 1, 5).at(0, 0, 0, 0)));
        assert!(!weekly.first_is(date(2025, 1, 5).at(0, 0, 1, 0)));
        assert_eq!(weekly.to_string(), "@weekly");
    }

    #[test]
    fn refuses_what_it_does_not_understand_and_says_where() {
        assert_eq!(
            refusal("0 16 * *"),
            "invalid cron expression `0 16 * *`: expected 5 fields (minute hour day-of-month month day-of-week), got 4"
        );
        assert!(refusal("0 0 16 * * FRI").ends_with("seconds and years are not supported"));
        assert!(refusal("60 * * * *").contains("minute field `60`: 60 is outside 0–59"));
        assert!(refusal("0 99999999999 * * *").contains("99999999999 is outside 0–23"));
        assert!(refusal("0 0 * * FRY").contains(
            "day-of-week field `FRY`: `FRY` is neither a number nor one of SUN, MON, TUE, WED, THU, FRI, SAT"
        ));
        assert!(refusal("0 0 * * 5-1").contains("range `5-1` runs backwards"));
        assert!(refusal("*/0 * * * *").contains("a step must be at least 1"));
        assert!(refusal("0 0 L * *").contains("`L` is Quartz syntax"));
        assert!(refusal("0 0 ? * MON").contains("`?` is Quartz syntax"));
        assert!(refusal("0 0 * * 5#3").contains("`#` is Quartz syntax"));
        assert!(refusal("0 0 1,,2 * *").contains("empty list element"));
        assert!(refusal("0 0 30 FEB *").contains("never occurs"));
        assert!(refusal("@reboot").contains("`@reboot` is not one of"));
        // Names that contain the Quartz letters are names.
        assert!("0 0 * JUL SAT,WED".parse::<Cron>().is_ok());
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Whatever the text, parsing answers (never panics), and an accepted
        /// expression yields ordered occurrences that it selects.
        #[test]
        fn any_text_is_parsed_or_refused(
            text in proptest::prop_oneof![
                "[@A-Za-z0-9*/,?#\\- ]{0,30}",
                proptest::collection::vec("\\*|[0-9]{1,2}|[0-9]{1,2}-[0-9]{1,2}|[*0-9]{1,2}/[0-9]|[0-9],[0-9]{1,2}|MON-FRI|JAN", 5)
                    .prop_map(|fields| fields.join(" ")),
            ]
        ) {
            if let Ok(cron) = text.parse::<Cron>() {
                let from = date(2025, 1, 1).at(0, 0, 0, 0);
                let times: Vec<DateTime> = cron.occurrences(from).take(5).collect();
                proptest::prop_assert!(!times.is_empty());
                proptest::prop_assert!(times.windows(2).all(|pair| pair[0] < pair[1]));
                proptest::prop_assert!(times.iter().all(|at| cron.first_is(*at)));
            }
        }
    }

    #[test]
    fn calendar_rules_when_one_rule_can_say_it() {
        let cron: Cron = "30 16 * 1-3 FRI".parse().expect("valid");
        assert_eq!(
            cron.to_ical().as_deref(),
            Some("FREQ=DAILY;BYHOUR=16;BYMINUTE=30;BYMONTH=1,2,3;BYDAY=FR")
        );
        let either: Cron = "0 0 1 * MON".parse().expect("valid");
        assert_eq!(either.to_ical(), None);
    }
}
