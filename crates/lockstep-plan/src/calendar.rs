//! Working-time calendars as sorted sets of disjoint half-open intervals, and the two ways
//! an activity can use them.
//!
//! A [`Calendar`] is the set of instants at which work may happen, on the same integer time
//! axis as everything else. Callers turn time zones, working hours, holidays and freezes
//! into intervals; this module only provides the interval algebra (union, intersection,
//! subtraction, where a deny window always wins) and answers "when can this activity start"
//! and "when does it finish". It deliberately knows nothing about dates or clocks.

/// A half-open interval `[start, end)` of working time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Interval {
    /// First working instant.
    pub start: i64,
    /// First instant after the interval.
    pub end: i64,
}

impl Interval {
    /// The interval `[start, end)`.
    pub fn new(start: i64, end: i64) -> Interval {
        Interval { start, end }
    }

    /// Length of the interval (0 when empty).
    pub fn len(&self) -> i64 {
        (self.end - self.start).max(0)
    }

    /// True when the interval contains no instant.
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// How an activity consumes working time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityMode {
    /// Must run from start to finish inside one working interval (a deployment).
    NonInterruptible,
    /// Consumes its duration only during working time and pauses outside it (development).
    Interruptible,
}

/// Sorted, disjoint, non-adjacent working intervals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Calendar {
    intervals: Vec<Interval>,
    /// `worked_before[idx]`: total working time in `intervals[..idx]`.
    worked_before: Vec<i64>,
    longest: i64,
}

impl Calendar {
    /// A calendar from any intervals: empty ones are dropped, overlapping and touching ones
    /// merged.
    pub fn new(intervals: impl IntoIterator<Item = Interval>) -> Calendar {
        let mut sorted: Vec<Interval> = intervals
            .into_iter()
            .filter(|interval| !interval.is_empty())
            .collect();
        sorted.sort_unstable();
        let mut merged: Vec<Interval> = Vec::with_capacity(sorted.len());
        for interval in sorted {
            match merged.last_mut() {
                Some(last) if interval.start <= last.end => last.end = last.end.max(interval.end),
                _ => merged.push(interval),
            }
        }
        Calendar::from_normalized(merged)
    }

    fn from_normalized(intervals: Vec<Interval>) -> Calendar {
        let mut worked_before = Vec::with_capacity(intervals.len() + 1);
        let mut total = 0i64;
        worked_before.push(0);
        for interval in &intervals {
            total = total.saturating_add(interval.len());
            worked_before.push(total);
        }
        let longest = intervals.iter().map(Interval::len).max().unwrap_or(0);
        Calendar {
            intervals,
            worked_before,
            longest,
        }
    }

    /// The working intervals, sorted and disjoint.
    pub fn intervals(&self) -> &[Interval] {
        &self.intervals
    }

    /// True when no time is working time.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
    }

    /// Working time of either calendar.
    pub fn union(&self, other: &Calendar) -> Calendar {
        Calendar::new(self.intervals.iter().chain(&other.intervals).copied())
    }

    /// Working time of both calendars.
    pub fn intersection(&self, other: &Calendar) -> Calendar {
        let mut result = Vec::new();
        let (mut left, mut right) = (0, 0);
        while left < self.intervals.len() && right < other.intervals.len() {
            let a = self.intervals[left];
            let b = other.intervals[right];
            let overlap = Interval::new(a.start.max(b.start), a.end.min(b.end));
            if !overlap.is_empty() {
                result.push(overlap);
            }
            if a.end <= b.end {
                left += 1;
            } else {
                right += 1;
            }
        }
        Calendar::from_normalized(result)
    }

    /// This calendar minus the deny windows: a deny window always wins over working time.
    pub fn subtract(&self, deny: &Calendar) -> Calendar {
        let mut result = Vec::new();
        let mut deny_idx = 0;
        for &interval in &self.intervals {
            let mut cursor = interval.start;
            while deny_idx < deny.intervals.len() && deny.intervals[deny_idx].end <= cursor {
                deny_idx += 1;
            }
            let mut probe = deny_idx;
            while probe < deny.intervals.len() && deny.intervals[probe].start < interval.end {
                let window = deny.intervals[probe];
                if window.start > cursor {
                    result.push(Interval::new(cursor, window.start));
                }
                cursor = cursor.max(window.end);
                probe += 1;
            }
            if cursor < interval.end {
                result.push(Interval::new(cursor, interval.end));
            }
        }
        Calendar::from_normalized(result)
    }

    /// Whether `instant` is working time.
    pub fn is_working(&self, instant: i64) -> bool {
        self.interval_at_or_after(instant)
            .is_some_and(|idx| self.intervals[idx].start <= instant)
    }

    /// Index of the first interval that ends after `instant`.
    fn interval_at_or_after(&self, instant: i64) -> Option<usize> {
        let idx = self
            .intervals
            .partition_point(|interval| interval.end <= instant);
        (idx < self.intervals.len()).then_some(idx)
    }

    /// Working time in `[start, end)`.
    pub fn working_time_between(&self, start: i64, end: i64) -> i64 {
        (self.worked_until(end) - self.worked_until(start)).max(0)
    }

    /// Working time before `instant`.
    fn worked_until(&self, instant: i64) -> i64 {
        match self.interval_at_or_after(instant) {
            None => self.worked_before[self.intervals.len()],
            Some(idx) => {
                let interval = self.intervals[idx];
                self.worked_before[idx] + (instant - interval.start).max(0)
            }
        }
    }

    /// Earliest start `>= earliest` at which an activity of `duration` can run in `mode`, or
    /// `None` when the calendar has no room left. Zero-duration activities start at once.
    pub fn earliest_start(&self, earliest: i64, duration: i64, mode: ActivityMode) -> Option<i64> {
        if duration <= 0 {
            return Some(earliest);
        }
        let first = self.interval_at_or_after(earliest)?;
        match mode {
            ActivityMode::NonInterruptible => {
                if duration > self.longest {
                    return None;
                }
                self.intervals[first..].iter().find_map(|interval| {
                    let start = interval.start.max(earliest);
                    (interval.end - start >= duration).then_some(start)
                })
            }
            ActivityMode::Interruptible => {
                let start = self.intervals[first].start.max(earliest);
                let remaining = self.worked_before[self.intervals.len()] - self.worked_until(start);
                (remaining >= duration).then_some(start)
            }
        }
    }

    /// Finish of an activity of `duration` started at `start` (which should come from
    /// [`Calendar::earliest_start`]), or `None` when the calendar runs out first.
    pub fn finish(&self, start: i64, duration: i64, mode: ActivityMode) -> Option<i64> {
        if duration <= 0 {
            return Some(start);
        }
        match mode {
            ActivityMode::NonInterruptible => {
                let idx = self.interval_at_or_after(start)?;
                let interval = self.intervals[idx];
                (interval.start <= start && start + duration <= interval.end)
                    .then_some(start + duration)
            }
            ActivityMode::Interruptible => {
                let target = self.worked_until(start).checked_add(duration)?;
                // The first interval whose cumulative end reaches the target holds the finish.
                let idx = self.worked_before[1..].partition_point(|&worked| worked < target);
                let interval = self.intervals.get(idx)?;
                Some(interval.start + (target - self.worked_before[idx]))
            }
        }
    }

    /// When `work` units of working time that may start at `start` are done, in
    /// continuous time (an interruptible activity whose duration is a sample, such as 2.4
    /// working days); `start` itself for no work, `None` past the last interval.
    pub fn finish_after_work(&self, start: f64, work: f64) -> Option<f64> {
        if work <= 0.0 {
            return Some(start);
        }
        let idx = self
            .intervals
            .partition_point(|interval| (interval.end as f64) <= start);
        let interval = self.intervals.get(idx)?;
        let worked = self.worked_before[idx] as f64 + (start - interval.start as f64).max(0.0);
        let target = worked + work;
        let idx = self.worked_before[1..].partition_point(|&worked| (worked as f64) < target);
        let interval = self.intervals.get(idx)?;
        Some(interval.start as f64 + (target - self.worked_before[idx] as f64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(pairs: &[(i64, i64)]) -> Calendar {
        Calendar::new(pairs.iter().map(|&(start, end)| Interval::new(start, end)))
    }

    fn pairs(calendar: &Calendar) -> Vec<(i64, i64)> {
        calendar
            .intervals()
            .iter()
            .map(|interval| (interval.start, interval.end))
            .collect()
    }

    #[test]
    fn fractional_work_pauses_outside_working_time() {
        // Working days 0–4 and 7–11 (a weekend at 5 and 6).
        let cal = calendar(&[(0, 5), (7, 12)]);
        assert_eq!(cal.finish_after_work(0.0, 2.5), Some(2.5));
        // Half a day left on Friday, the rest after the weekend.
        assert_eq!(cal.finish_after_work(4.5, 1.5), Some(8.0));
        // Work that ends with Friday ends on Friday, not on Monday morning.
        assert_eq!(cal.finish_after_work(3.0, 2.0), Some(5.0));
        // Ready during the weekend: starts on Monday.
        assert_eq!(cal.finish_after_work(5.5, 1.0), Some(8.0));
        assert_eq!(cal.finish_after_work(6.0, 0.0), Some(6.0));
        assert_eq!(cal.finish_after_work(11.0, 2.0), None);
        // The integer rule agrees where both apply.
        assert_eq!(
            cal.finish(4, 3, ActivityMode::Interruptible),
            Some(cal.finish_after_work(4.0, 3.0).expect("inside") as i64)
        );
    }

    #[test]
    fn normalizes_by_sorting_merging_and_dropping_empty_intervals() {
        let cal = calendar(&[(10, 12), (0, 3), (2, 5), (5, 6), (7, 7), (9, 8)]);
        assert_eq!(pairs(&cal), vec![(0, 6), (10, 12)]);
    }

    #[test]
    fn union_intersection_and_subtraction_follow_set_algebra() {
        let week = calendar(&[(0, 8), (24, 32), (48, 56)]);
        let other = calendar(&[(4, 30), (50, 60)]);
        assert_eq!(pairs(&week.union(&other)), vec![(0, 32), (48, 60)]);
        assert_eq!(
            pairs(&week.intersection(&other)),
            vec![(4, 8), (24, 30), (50, 56)]
        );
        let freeze = calendar(&[(2, 3), (6, 26), (49, 50), (55, 100)]);
        assert_eq!(
            pairs(&week.subtract(&freeze)),
            vec![(0, 2), (3, 6), (26, 32), (48, 49), (50, 55)]
        );
    }

    #[test]
    fn deny_window_wins_over_overlapping_working_time() {
        let work = calendar(&[(0, 10)]).union(&calendar(&[(5, 20)]));
        let freeze = calendar(&[(0, 100)]);
        assert!(work.subtract(&freeze).is_empty());
    }

    #[test]
    fn non_interruptible_activity_waits_for_a_window_long_enough() {
        let cal = calendar(&[(0, 8), (24, 32), (48, 60)]);
        assert_eq!(
            cal.earliest_start(5, 3, ActivityMode::NonInterruptible),
            Some(5)
        );
        assert_eq!(
            cal.earliest_start(6, 3, ActivityMode::NonInterruptible),
            Some(24)
        );
        assert_eq!(
            cal.earliest_start(0, 10, ActivityMode::NonInterruptible),
            Some(48)
        );
        assert_eq!(
            cal.earliest_start(0, 13, ActivityMode::NonInterruptible),
            None
        );
        assert_eq!(cal.finish(24, 8, ActivityMode::NonInterruptible), Some(32));
        assert_eq!(cal.finish(25, 8, ActivityMode::NonInterruptible), None);
    }

    #[test]
    fn interruptible_activity_pauses_outside_working_time() {
        let cal = calendar(&[(0, 8), (24, 32), (48, 60)]);
        assert_eq!(
            cal.earliest_start(9, 10, ActivityMode::Interruptible),
            Some(24)
        );
        assert_eq!(cal.finish(24, 10, ActivityMode::Interruptible), Some(50));
        assert_eq!(cal.finish(6, 2, ActivityMode::Interruptible), Some(8));
        assert_eq!(cal.finish(6, 3, ActivityMode::Interruptible), Some(25));
        assert_eq!(
            cal.earliest_start(30, 15, ActivityMode::Interruptible),
            None
        );
        assert_eq!(cal.working_time_between(4, 50), 4 + 8 + 2);
        assert!(cal.is_working(0) && !cal.is_working(8) && cal.is_working(59));
    }
}
