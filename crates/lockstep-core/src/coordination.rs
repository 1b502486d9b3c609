//! Coordination time: what Lockstep promises to cut, from 12–24 hours of meetings and
//! e-mail per multi-team deployment to about [`TARGET_MINUTES`], measured per release in
//! person-minutes from two sources:
//!
//! - **Recorded**: the meetings, calls, e-mail threads and chats that still happen, kept
//!   with the release by someone who took part ([`CoordinationEntry`]: minutes × people).
//!   A mistaken record is retracted, never erased: the log keeps both.
//! - **In Lockstep**: estimated from the log. Each person's actions on a release (the
//!   events they caused, except a deployment run's, which are the deployment itself;
//!   webhooks and Lockstep's own automation are not people) are
//!   grouped into sittings: an action less than [`SITTING_GAP_MINUTES`] after the previous
//!   one continues the sitting. A sitting counts from its first action to its last, plus
//!   [`ACTION_MINUTES`] for reading and typing before the first one.
//!
//! The seeds' leading indicator "frequency of last-minute coordination changes affecting
//! deployment schedules" is read off the same log: plan changes (scope, ETAs,
//! dependencies, the release's own dates) in the [`LATE_CHANGE_HOURS`] before the
//! deployment starts.

use std::collections::BTreeSet;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::Name;

/// The product's aim: coordination per deployment, in person-minutes.
pub const TARGET_MINUTES: u64 = 15;
/// Two actions of one person this far apart (or more) belong to separate sittings.
pub const SITTING_GAP_MINUTES: i64 = 15;
/// What a sitting costs beyond the span of its actions.
pub const ACTION_MINUTES: i64 = 1;
/// How close to the deployment a plan change counts as last-minute.
pub const LATE_CHANGE_HOURS: i64 = 48;
/// The scale of a coordination rating: 1 (painful) to 5 (effortless).
pub const MAX_SCORE: u8 = 5;
/// The longest single record: one day of one activity.
pub const MAX_MINUTES: u32 = 24 * 60;
/// The most people a single record may name.
pub const MAX_PEOPLE: u32 = 1_000;

/// What kind of coordination a record was.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Activity {
    #[default]
    Meeting,
    Call,
    Email,
    Chat,
    Other,
}

impl Activity {
    /// Every activity, in the order forms offer them.
    pub const ALL: [Activity; 5] = [
        Activity::Meeting,
        Activity::Call,
        Activity::Email,
        Activity::Chat,
        Activity::Other,
    ];

    /// `meeting`, `call`, `email`, `chat` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Meeting => "meeting",
            Activity::Call => "call",
            Activity::Email => "email",
            Activity::Chat => "chat",
            Activity::Other => "other",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(raw: &str) -> Option<Activity> {
        Activity::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

impl std::fmt::Display for Activity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Time spent coordinating a release outside Lockstep, as recorded by someone who was
/// there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoordinationEntry {
    /// 1-based, in the order of recording within the release.
    pub number: u32,
    /// Meeting, call, e-mail, chat or other.
    pub activity: Activity,
    /// How long it took, in minutes.
    pub minutes: u32,
    /// How many people it took.
    pub people: u32,
    /// The day it happened.
    pub on: Date,
    /// What it was about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who recorded it (a login name).
    pub by: String,
    /// When it was recorded.
    pub at: Timestamp,
    /// Set when the record was withdrawn as a mistake; it then counts for nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retracted: Option<Retraction>,
}

impl CoordinationEntry {
    /// Minutes × people, or 0 once retracted.
    pub fn person_minutes(&self) -> u64 {
        if self.retracted.is_some() {
            0
        } else {
            u64::from(self.minutes) * u64::from(self.people)
        }
    }
}

/// How one person found the coordination of a release: the seeds' "team satisfaction
/// with coordination communication and preparation quality".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    /// 1 (painful) to [`MAX_SCORE`] (effortless).
    pub score: u8,
    /// Why, in their words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A login name.
    pub by: String,
    /// When; a later rating by the same person replaces theirs.
    pub at: Timestamp,
}

/// Who withdrew a record, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retraction {
    /// A login name.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// Whether an event changes a release's plan: its scope, an item, an ETA, a dependency,
/// or the release's own dates. Late ones are counted and announced.
pub fn is_plan_change(event: &crate::Event) -> bool {
    use crate::Event;
    matches!(
        event,
        Event::ReleaseRedefined { .. }
            | Event::ItemAdded { .. }
            | Event::ItemRedefined { .. }
            | Event::ItemEtaChanged { .. }
            | Event::DependencyAdded { .. }
            | Event::DependencyChanged { .. }
            | Event::DependencyRemoved { .. }
    )
}

/// When the release's declared deployment starts: its first step's time on the target
/// date, in the plan's time zone (from `zones`); `None` without steps or a known zone.
pub fn planned_start(
    spec: &crate::ReleaseSpec,
    zones: &std::collections::BTreeMap<String, jiff::tz::TimeZone>,
) -> Option<Timestamp> {
    let plan = spec.deployment.as_ref()?;
    let first = plan.steps.iter().map(|step| step.at).min()?;
    let zone = zones.get(&plan.time_zone)?;
    spec.target_date
        .to_datetime(first)
        .to_zoned_datetime(zone.clone())
        .ok()
        .map(|zoned| zoned.timestamp())
}

/// When the deployment of a release starts: its run's start, else its planned start,
/// else 00:00 UTC of `target`.
pub fn deployment_start(
    run_started: Option<Timestamp>,
    planned: Option<Timestamp>,
    target: Date,
) -> Timestamp {
    run_started
        .or(planned)
        .or_else(|| {
            target
                .to_datetime(jiff::civil::Time::midnight())
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .ok()
                .map(|zoned| zoned.timestamp())
        })
        .unwrap_or_default()
}

/// Whether `at` falls in the [`LATE_CHANGE_HOURS`] before `start`.
pub fn is_late(at: Timestamp, start: Timestamp) -> bool {
    at < start && start.duration_since(at) <= SignedDuration::from_hours(LATE_CHANGE_HOURS)
}

/// Whether an event's actor is a person: webhooks (`webhook:github`) and Lockstep's own
/// automation (`lockstep`) are not, and take no one's time.
pub fn is_person(actor: &str) -> bool {
    actor != "lockstep" && !actor.contains(':')
}

/// One person's time in Lockstep on a release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonTime {
    /// A login name.
    pub actor: String,
    /// Commands that changed something.
    pub actions: usize,
    /// Runs of actions with less than [`SITTING_GAP_MINUTES`] between them.
    pub sittings: usize,
    /// The estimate, in minutes.
    pub minutes: u64,
}

impl PersonTime {
    /// The estimate for `actor` from the instants of their actions, in any order.
    pub fn estimate(actor: &str, mut actions: Vec<Timestamp>) -> PersonTime {
        actions.sort();
        let gap = SignedDuration::from_mins(SITTING_GAP_MINUTES);
        let mut seconds = 0i64;
        let mut sittings = 0;
        let mut start: Option<(Timestamp, Timestamp)> = None;
        for at in &actions {
            start = match start {
                Some((first, last)) if at.duration_since(last) < gap => Some((first, *at)),
                Some((first, last)) => {
                    seconds += last.duration_since(first).as_secs();
                    sittings += 1;
                    Some((*at, *at))
                }
                None => Some((*at, *at)),
            };
        }
        if let Some((first, last)) = start {
            seconds += last.duration_since(first).as_secs();
            sittings += 1;
        }
        let minutes = (seconds + 59) / 60 + ACTION_MINUTES * sittings as i64;
        PersonTime {
            actor: actor.to_owned(),
            actions: actions.len(),
            sittings,
            minutes: u64::try_from(minutes).unwrap_or_default(),
        }
    }
}

/// A change to a release's plan close to its deployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LateChange {
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: String,
    /// What, in words.
    pub change: String,
}

/// A release's coordination time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoordinationReport {
    /// The release.
    pub release: Name,
    /// Every record, retracted ones included, in the order they were kept.
    pub entries: Vec<CoordinationEntry>,
    /// Person-minutes of the records that stand.
    pub recorded_minutes: u64,
    /// Each person's estimated time in Lockstep, most first.
    pub in_tool: Vec<PersonTime>,
    /// What automation accounts (a CI job applying the manifests) did on the release,
    /// estimated the same way but counted in no total: it is no one's time.
    #[serde(default)]
    pub automation: Vec<PersonTime>,
    /// Their sum.
    pub in_tool_minutes: u64,
    /// Recorded plus in Lockstep.
    pub total_minutes: u64,
    /// [`TARGET_MINUTES`].
    pub target_minutes: u64,
    /// When the deployment started (its first run) or is due to (its target date, 00:00
    /// UTC).
    pub deployment_start: Timestamp,
    /// Plan changes in the [`LATE_CHANGE_HOURS`] before `deployment_start`.
    pub late_changes: Vec<LateChange>,
    /// Each person's rating of the coordination, lowest first.
    pub ratings: Vec<Rating>,
    /// Their mean, when anyone rated.
    pub satisfaction: Option<f64>,
}

impl CoordinationReport {
    /// Assembles the report; `actions` are each actor's action instants, and those of
    /// the `automation` accounts are listed apart and counted in no total.
    pub fn new(
        release: Name,
        entries: Vec<CoordinationEntry>,
        actions: impl IntoIterator<Item = (String, Vec<Timestamp>)>,
        automation: &BTreeSet<String>,
        deployment_start: Timestamp,
        late_changes: Vec<LateChange>,
        mut ratings: Vec<Rating>,
    ) -> CoordinationReport {
        ratings.sort_by(|a, b| a.score.cmp(&b.score).then(a.by.cmp(&b.by)));
        let satisfaction = (!ratings.is_empty()).then(|| {
            ratings.iter().map(|r| f64::from(r.score)).sum::<f64>() / ratings.len() as f64
        });
        let (mut in_tool, mut automated): (Vec<PersonTime>, Vec<PersonTime>) = actions
            .into_iter()
            .map(|(actor, at)| PersonTime::estimate(&actor, at))
            .partition(|time| !automation.contains(&time.actor));
        for times in [&mut in_tool, &mut automated] {
            times.sort_by(|a, b| b.minutes.cmp(&a.minutes).then(a.actor.cmp(&b.actor)));
        }
        let recorded_minutes = entries.iter().map(CoordinationEntry::person_minutes).sum();
        let in_tool_minutes = in_tool.iter().map(|p| p.minutes).sum();
        CoordinationReport {
            release,
            entries,
            recorded_minutes,
            in_tool,
            automation: automated,
            in_tool_minutes,
            total_minutes: recorded_minutes + in_tool_minutes,
            target_minutes: TARGET_MINUTES,
            deployment_start,
            late_changes,
            ratings,
            satisfaction,
        }
    }

    /// `Rated 3.5 of 5 by 2 people; lowest: 2 by mike ("the API slip came late").`, or
    /// `None` when no one rated.
    pub fn satisfaction_line(&self) -> Option<String> {
        let mean = self.satisfaction?;
        let lowest = self.ratings.first()?;
        let n = self.ratings.len();
        let mut line = format!(
            "Rated {mean:.1} of {MAX_SCORE} by {n} {}",
            if n == 1 { "person" } else { "people" }
        );
        if n > 1 {
            line.push_str(&format!("; lowest: {} by {}", lowest.score, lowest.by));
            if let Some(comment) = &lowest.comment {
                line.push_str(&format!(" ({comment:?})"));
            }
        }
        line.push('.');
        Some(line)
    }

    /// One line for a review: `57 person-minutes: 45 recorded (1 meeting), about 12 in
    /// Lockstep by 3 people (aim: 15).`
    pub fn summary(&self) -> String {
        let standing: Vec<&CoordinationEntry> = self
            .entries
            .iter()
            .filter(|e| e.retracted.is_none())
            .collect();
        let records = if standing.is_empty() {
            "none recorded".to_owned()
        } else {
            let mut kinds: Vec<(Activity, usize)> = Vec::new();
            for entry in &standing {
                match kinds.iter_mut().find(|(a, _)| *a == entry.activity) {
                    Some((_, n)) => *n += 1,
                    None => kinds.push((entry.activity, 1)),
                }
            }
            kinds.sort();
            let kinds: Vec<String> = kinds
                .into_iter()
                .map(|(activity, n)| format!("{n} {}", plural(activity, n)))
                .collect();
            format!("{} recorded ({})", self.recorded_minutes, kinds.join(", "))
        };
        format!(
            "{} person-minutes of coordination: {records}, about {} in Lockstep by {} {} (aim: {} per deployment).",
            self.total_minutes,
            self.in_tool_minutes,
            self.in_tool.len(),
            if self.in_tool.len() == 1 {
                "person"
            } else {
                "people"
            },
            self.target_minutes
        )
    }
}

fn plural(activity: Activity, n: usize) -> &'static str {
    match (activity, n == 1) {
        (Activity::Meeting, true) => "meeting",
        (Activity::Meeting, false) => "meetings",
        (Activity::Call, true) => "call",
        (Activity::Call, false) => "calls",
        (Activity::Email, true) => "e-mail thread",
        (Activity::Email, false) => "e-mail threads",
        (Activity::Chat, true) => "chat",
        (Activity::Chat, false) => "chats",
        (Activity::Other, _) => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str) -> Timestamp {
        raw.parse().expect("valid timestamp")
    }

    #[test]
    fn close_actions_are_one_sitting_and_far_ones_two() {
        let actions = vec![
            at("2025-02-01T09:10:00Z"),
            at("2025-02-01T09:00:00Z"),
            at("2025-02-01T09:04:30Z"),
            // 15 minutes after the last: a new sitting.
            at("2025-02-01T09:25:00Z"),
        ];
        let time = PersonTime::estimate("rita", actions);
        assert_eq!((time.actions, time.sittings), (4, 2));
        // 10 minutes + 1, then 0 + 1.
        assert_eq!(time.minutes, 12);
    }

    #[test]
    fn a_bulk_apply_is_one_minute_and_no_action_is_nothing() {
        let apply = vec![at("2025-02-01T09:00:00Z"); 80];
        assert_eq!(PersonTime::estimate("ci", apply).minutes, 1);
        assert_eq!(PersonTime::estimate("ci", Vec::new()).minutes, 0);
    }

    #[test]
    fn people_are_not_webhooks_or_lockstep() {
        assert!(is_person("rita"));
        assert!(!is_person("webhook:github"));
        assert!(!is_person("lockstep"));
    }

    #[test]
    fn retracted_records_count_for_nothing() {
        let entry = |number, minutes, people, retracted: bool| CoordinationEntry {
            number,
            activity: Activity::Meeting,
            minutes,
            people,
            on: "2025-02-01".parse().expect("date"),
            note: None,
            by: "rita".to_owned(),
            at: at("2025-02-01T12:00:00Z"),
            retracted: retracted.then(|| Retraction {
                by: "rita".to_owned(),
                at: at("2025-02-01T12:05:00Z"),
            }),
        };
        let report = CoordinationReport::new(
            Name::parse("q1").expect("name"),
            vec![entry(1, 30, 6, false), entry(2, 450, 6, true)],
            [
                ("rita".to_owned(), vec![at("2025-02-01T12:00:00Z")]),
                // The CI job applying the manifests: listed, counted in no total.
                (
                    "ci".to_owned(),
                    vec![at("2025-02-01T12:00:00Z"), at("2025-02-01T12:10:00Z")],
                ),
            ],
            &BTreeSet::from(["ci".to_owned()]),
            at("2025-03-01T00:00:00Z"),
            Vec::new(),
            Vec::new(),
        );
        assert_eq!(report.recorded_minutes, 180);
        assert_eq!(report.total_minutes, 181);
        let automation: Vec<(&str, u64)> = report
            .automation
            .iter()
            .map(|time| (time.actor.as_str(), time.minutes))
            .collect();
        assert_eq!(automation, [("ci", 11)]);
        assert_eq!(report.in_tool.len(), 1);
        assert_eq!(
            report.summary(),
            "181 person-minutes of coordination: 180 recorded (1 meeting), about 1 in Lockstep by 1 person (aim: 15 per deployment)."
        );
    }

    #[test]
    fn ratings_average_and_the_lowest_is_quoted() {
        let rating = |score, by: &str, comment: Option<&str>| Rating {
            score,
            comment: comment.map(str::to_owned),
            by: by.to_owned(),
            at: at("2025-03-05T12:00:00Z"),
        };
        let report = CoordinationReport::new(
            Name::parse("q1").expect("name"),
            Vec::new(),
            Vec::new(),
            &BTreeSet::new(),
            at("2025-03-01T00:00:00Z"),
            Vec::new(),
            vec![
                rating(5, "rita", None),
                rating(2, "mike", Some("the API slip came late")),
            ],
        );
        assert_eq!(report.satisfaction, Some(3.5));
        assert_eq!(
            report.satisfaction_line().as_deref(),
            Some("Rated 3.5 of 5 by 2 people; lowest: 2 by mike (\"the API slip came late\").")
        );
    }

    #[test]
    fn the_deployment_starts_at_the_run_else_the_first_planned_step_else_midnight_utc() {
        let spec: crate::ReleaseSpec = serde_json::from_value(serde_json::json!({
            "targetDate": "2025-03-01",
            "deployment": {"environment": "production", "timeZone": "America/New_York",
                "steps": [{"component": "api", "at": "09:30"}, {"component": "backend", "at": "09:00"}]}
        }))
        .expect("spec");
        let zone = jiff::tz::TimeZone::get("America/New_York").expect("zone");
        let zones = std::collections::BTreeMap::from([("America/New_York".to_owned(), zone)]);
        let planned = planned_start(&spec, &zones);
        assert_eq!(planned, Some(at("2025-03-01T14:00:00Z")), "9:00 EST");
        let target = spec.target_date;
        assert_eq!(
            deployment_start(None, planned, target),
            at("2025-03-01T14:00:00Z")
        );
        let run = Some(at("2025-03-01T15:10:00Z"));
        assert_eq!(
            deployment_start(run, planned, target),
            at("2025-03-01T15:10:00Z")
        );
        // A zone the caller could not resolve: the target day's start, UTC.
        assert_eq!(planned_start(&spec, &Default::default()), None);
        assert_eq!(
            deployment_start(None, None, target),
            at("2025-03-01T00:00:00Z")
        );
        // The morning of the deployment is late; two days and a minute before is not.
        assert!(is_late(
            at("2025-03-01T10:00:00Z"),
            at("2025-03-01T14:00:00Z")
        ));
        assert!(!is_late(
            at("2025-02-27T13:59:00Z"),
            at("2025-03-01T14:00:00Z")
        ));
        assert!(!is_late(
            at("2025-03-01T14:00:00Z"),
            at("2025-03-01T14:00:00Z")
        ));
    }
}
