//! "Did you mean" suggestions for unknown names.
//!
//! A plain Levenshtein distance: the candidate lists are resource names, short and
//! few enough that nothing cleverer pays.

/// The candidate closest to `wanted`, if any is close enough to be a plausible typo
/// (at most a third of the longer name's length, and at least one edit allowed), else
/// the one name that `wanted` abbreviates (`prod` for `production`, three letters or
/// more, when no other name starts the same way).
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wanted.chars().count() / 3).max(1);
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let typo = candidates
        .iter()
        .map(|candidate| (levenshtein(wanted, candidate), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate);
    typo.or_else(|| {
        let mut abbreviated = candidates
            .iter()
            .filter(|candidate| wanted.chars().count() >= 3 && candidate.starts_with(wanted));
        match (abbreviated.next(), abbreviated.next()) {
            (Some(only), None) => Some(*only),
            _ => None,
        }
    })
}

/// ` (did you mean `NAME`?)` for the closest candidate, or nothing: the tail of an
/// "unknown …" message.
pub fn hint<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(wanted, candidates)
        .map(|name| format!(" (did you mean `{name}`?)"))
        .unwrap_or_default()
}

/// `unknown KIND `WANTED`` with the [`hint`] of the closest candidate.
pub fn unknown<'a>(
    kind: &str,
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    format!("unknown {kind} `{wanted}`{}", hint(wanted, candidates))
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_the_nearest_plausible_name() {
        let names = ["frontend", "backend", "api", "mobile"];
        assert_eq!(closest("fronted", names), Some("frontend"));
        assert_eq!(closest("backedn", names), Some("backend"));
        assert_eq!(closest("payments", names), None);
        let environments = ["production", "staging", "payments-production"];
        assert_eq!(closest("prod", environments), Some("production"));
        assert_eq!(closest("pr", environments), None, "too short to abbreviate");
        assert_eq!(closest("p", ["prod-eu", "prod-us"]), None);
        assert_eq!(closest("prod", ["prod-eu", "prod-us"]), None, "ambiguous");
    }
}
