//! Release trains: one `ReleaseTrain` document expands into a release per
//! departure of its cadence, so a team's whole release calendar is one manifest.
//!
//! Expansion is pure and deterministic: the same document always gives the same
//! releases, so re-applying it changes nothing, and changing the cadence shows up
//! in `apply --dry-run` as the releases it adds or changes. Departures that have
//! already been released or cancelled are left alone.

use jiff::civil::{Date, Time};
use lockstep_core::{Labels, Name, ReleaseSpec};
use serde_saphyr::Location;

use crate::wire::ReleaseTrainDoc;

/// Most departures one train may generate.
pub(crate) const MAX_DEPARTURES: usize = 366;

/// The label every generated release carries, naming its train.
pub const TRAIN_LABEL: &str = "lockstep.dev/train";

/// One generated release.
#[derive(Debug)]
pub(crate) struct Departure {
    pub name: Name,
    pub spec: ReleaseSpec,
}

/// Where and what is wrong with a train.
pub(crate) type TrainError = (Location, String);

fn days_before(date: Date, days: Option<&serde_saphyr::Spanned<u16>>) -> Option<Date> {
    let days = days?.value;
    date.checked_sub(jiff::Span::new().days(i64::from(days)))
        .ok()
}

/// The releases of `train`, in departure order.
pub(crate) fn departures(
    train: &Name,
    spec: &ReleaseTrainDoc,
    manager: Option<Name>,
    labels: &Labels,
) -> Result<Vec<Departure>, TrainError> {
    let zone = jiff::tz::TimeZone::get(&spec.time_zone.value).map_err(|_| {
        (
            spec.time_zone.referenced,
            format!(
                "train `{train}`: timeZone `{}` is not an IANA time zone",
                spec.time_zone.value
            ),
        )
    })?;
    let rule = &spec.cadence.value;
    if !rule.is_bounded() {
        return Err((
            spec.cadence.referenced,
            format!(
                "train `{train}`: cadence `{rule}` never ends: add COUNT (e.g. `;COUNT=12`) or UNTIL (e.g. `;UNTIL=20251231`)"
            ),
        ));
    }
    if let (Some(feature), Some(code)) = (&spec.feature_freeze_days, &spec.code_freeze_days)
        && feature.value < code.value
    {
        return Err((
            feature.referenced,
            format!(
                "train `{train}`: the feature freeze ({} days before) must not come after the code freeze ({} days before)",
                feature.value, code.value
            ),
        ));
    }
    let start = spec.start.value.to_datetime(Time::midnight());
    if !rule.first_is(start) {
        let first = rule
            .occurrences(start, Some(&zone))
            .next()
            .map_or_else(|| "none".to_owned(), |at| at.date().to_string());
        return Err((
            spec.start.referenced,
            format!(
                "train `{train}`: start {} ({}) is not a departure of `{rule}`; the first would be {first}",
                spec.start.value,
                spec.start.value.strftime("%A")
            ),
        ));
    }
    for skip in &spec.skip {
        let at = skip.value.to_datetime(Time::midnight());
        let selected = rule
            .occurrences(start, Some(&zone))
            .take_while(|d| *d <= at)
            .any(|d| d == at);
        if !selected {
            return Err((
                skip.referenced,
                format!(
                    "train `{train}`: skip {} is not a departure of `{rule}`",
                    skip.value
                ),
            ));
        }
    }
    let mut found = Vec::new();
    for (index, at) in rule.occurrences(start, Some(&zone)).enumerate() {
        if index >= MAX_DEPARTURES {
            return Err((
                spec.cadence.referenced,
                format!(
                    "train `{train}`: cadence `{rule}` gives more than {MAX_DEPARTURES} departures; split the train or lower COUNT/UNTIL"
                ),
            ));
        }
        let date = at.date();
        if spec.skip.iter().any(|s| s.value == date) {
            continue;
        }
        let raw = format!("{train}-{}", date.strftime("%Y-%m-%d"));
        let name = Name::parse(&raw).map_err(|error| {
            (
                spec.cadence.referenced,
                format!(
                    "train `{train}`: departure name `{raw}`: {error}; use a shorter train name"
                ),
            )
        })?;
        let number = index + 1;
        let mut release_labels = labels.clone();
        release_labels.insert(TRAIN_LABEL.to_owned(), train.to_string());
        found.push(Departure {
            name,
            spec: ReleaseSpec {
                title: Some(format!(
                    "{} {}",
                    spec.title.as_deref().unwrap_or(train.as_str()),
                    date.strftime("%b %-d, %Y")
                )),
                kind: spec.kind,
                version: spec.version.as_ref().map(|pattern| {
                    pattern
                        .replace("{n}", &number.to_string())
                        .replace("{date}", &date.to_string())
                }),
                target_date: date,
                feature_freeze: days_before(date, spec.feature_freeze_days.as_ref()),
                code_freeze: days_before(date, spec.code_freeze_days.as_ref()),
                manager: manager.clone(),
                milestones: Vec::new(),
                deployment: spec.deployment.clone(),
                labels: release_labels,
            },
        });
    }
    Ok(found)
}
