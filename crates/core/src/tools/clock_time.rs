//! Local wall times from the model, resolved in the assistant's time zone with a real tz
//! database (`jiff`, bundled so it works in Lambda). Nothing here guesses a UTC offset: a time
//! that does not exist (spring forward) or exists twice (fall back) is an error that names the
//! choices, for the model to ask the caller.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use time::OffsetDateTime;

/// A time the tools cannot use; the message is written for the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(pub String);

/// The assistant's time zone.
#[derive(Debug, Clone)]
pub struct LocalZone {
    name: String,
    tz: TimeZone,
}

impl LocalZone {
    /// Looks up an IANA zone (`Europe/Paris`, `UTC`).
    pub fn new(name: &str) -> Result<Self, TimeError> {
        let tz = TimeZone::get(name).map_err(|_| TimeError(format!("unknown time zone {name}")))?;
        Ok(Self {
            name: name.to_owned(),
            tz,
        })
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Resolves `2026-11-26T15:00` (seconds optional; a date alone means midnight) in this zone.
    /// `field` names the argument in errors.
    pub fn resolve(&self, field: &str, local: &str) -> Result<OffsetDateTime, TimeError> {
        let text = local.trim();
        if text.ends_with('Z') || text.get(19..).is_some_and(|rest| rest.contains(['+', '-'])) {
            return Err(TimeError(format!(
                "`{field}` must be a local time without an offset, like 2026-11-26T15:00; got '{local}'"
            )));
        }
        let civil: DateTime = text
            .parse()
            .or_else(|_| {
                text.parse::<jiff::civil::Date>()
                    .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
            })
            .map_err(|_| {
                TimeError(format!(
                    "`{field}` must be a local time like 2026-11-26T15:00; got '{local}'"
                ))
            })?;
        let ambiguous = self.tz.to_ambiguous_zoned_datetime(civil);
        match ambiguous.offset() {
            jiff::tz::AmbiguousOffset::Unambiguous { .. } => {}
            jiff::tz::AmbiguousOffset::Gap { before, after } => {
                return Err(TimeError(format!(
                    "`{field}` {local} does not exist in {} (clocks jump from UTC offset {before} to {after}); ask for another time",
                    self.name
                )));
            }
            jiff::tz::AmbiguousOffset::Fold { before, after } => {
                return Err(TimeError(format!(
                    "`{field}` {local} happens twice in {} (clocks go back); ask the caller which they mean: UTC offset {before} or {after}",
                    self.name
                )));
            }
        }
        let zoned = ambiguous
            .unambiguous()
            .map_err(|e| TimeError(format!("`{field}`: {e}")))?;
        to_offset(zoned.timestamp())
    }

    /// An instant shown as local wall time with the zone, e.g. `2026-11-26T15:00 (Europe/Paris)`.
    pub fn show(&self, at: OffsetDateTime) -> String {
        match Timestamp::from_second(at.unix_timestamp()) {
            Ok(ts) => {
                let zoned = ts.to_zoned_datetime(self.tz.clone());
                format!("{} ({})", zoned.strftime("%Y-%m-%dT%H:%M"), self.name)
            }
            Err(_) => at.to_string(),
        }
    }

    /// Today's local date and time, for the instructions.
    pub fn now_text(&self, now: OffsetDateTime) -> String {
        match Timestamp::from_second(now.unix_timestamp()) {
            Ok(ts) => ts
                .to_zoned_datetime(self.tz.clone())
                .strftime("%A %Y-%m-%d %H:%M")
                .to_string(),
            Err(_) => now.to_string(),
        }
    }

    /// Midnight at the start of the local day containing `at`, and the next midnight.
    pub fn day_bounds(
        &self,
        at: OffsetDateTime,
    ) -> Result<(OffsetDateTime, OffsetDateTime), TimeError> {
        let ts =
            Timestamp::from_second(at.unix_timestamp()).map_err(|e| TimeError(e.to_string()))?;
        let zoned: ZonedDateTime = ts.to_zoned_datetime(self.tz.clone());
        let start = zoned.start_of_day().map_err(|e| TimeError(e.to_string()))?;
        let end = start.tomorrow().map_err(|e| TimeError(e.to_string()))?;
        Ok((to_offset(start.timestamp())?, to_offset(end.timestamp())?))
    }
}

fn to_offset(ts: Timestamp) -> Result<OffsetDateTime, TimeError> {
    OffsetDateTime::from_unix_timestamp(ts.as_second()).map_err(|e| TimeError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_time_resolves_with_the_zone_offset() {
        let paris = LocalZone::new("Europe/Paris").unwrap();
        let at = paris.resolve("start", "2026-11-26T15:00").unwrap();
        assert_eq!(
            at.unix_timestamp(),
            OffsetDateTime::parse(
                "2026-11-26T14:00:00Z",
                &time::format_description::well_known::Rfc3339
            )
            .unwrap()
            .unix_timestamp()
        );
        assert_eq!(paris.show(at), "2026-11-26T15:00 (Europe/Paris)");
    }

    #[test]
    fn dst_gap_and_overlap_are_errors_naming_the_choices() {
        let paris = LocalZone::new("Europe/Paris").unwrap();
        let gap = paris.resolve("start", "2026-03-29T02:30").unwrap_err().0;
        assert!(gap.contains("does not exist"), "{gap}");
        let fold = paris.resolve("start", "2026-10-25T02:30").unwrap_err().0;
        assert!(
            fold.contains("twice") && fold.contains("+02") && fold.contains("+01"),
            "{fold}"
        );
    }

    #[test]
    fn offsets_and_garbage_are_refused_with_the_field_name() {
        let utc = LocalZone::new("UTC").unwrap();
        assert!(
            utc.resolve("end", "2026-11-26T15:00:00+02:00")
                .unwrap_err()
                .0
                .contains("`end`")
        );
        assert!(
            utc.resolve("start", "tomorrow")
                .unwrap_err()
                .0
                .contains("'tomorrow'")
        );
        assert!(LocalZone::new("Mars/Base").is_err());
    }
}
