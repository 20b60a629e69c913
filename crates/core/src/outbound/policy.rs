//! When the assistant may call, and how often: pure functions of "now" (the caller passes its
//! clock's instant), so every rule is tested without waiting.
//!
//! - **Do not call**: a number that texted STOP (the SMS opt-out store) is never dialled.
//! - **Quiet hours**: calls go out only inside the calling window in the callee's time zone
//!   (default 08:00–21:00; `OUTBOUND_CALL_WINDOW`).
//! - **Daily cap**: at most `OUTBOUND_CALLS_PER_DAY` attempts (retries included) per UTC day.
//! - **Retries**: after no answer or busy, at most `OUTBOUND_MAX_RETRIES` more attempts, the
//!   n-th after `OUTBOUND_RETRY_BACKOFF_SECS × 2^(n-1)`, moved to the next opening of the
//!   window when that falls in quiet hours.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use time::OffsetDateTime;

use super::OutboundOutcome;

/// The hours calls may go out, in the callee's local time: `start` inclusive, `end` exclusive,
/// minutes after midnight, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallWindow {
    start: u16,
    end: u16,
}

impl Default for CallWindow {
    /// 08:00–21:00.
    fn default() -> Self {
        Self {
            start: 8 * 60,
            end: 21 * 60,
        }
    }
}

impl FromStr for CallWindow {
    type Err = String;

    /// `HH:MM-HH:MM`, e.g. `08:00-21:00`; the start must come before the end.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let minutes = |part: &str| -> Result<u16, String> {
            let (h, m) = part
                .trim()
                .split_once(':')
                .ok_or_else(|| format!("expected HH:MM, got '{part}'"))?;
            let h: u16 = h.parse().map_err(|_| format!("bad hour in '{part}'"))?;
            let m: u16 = m.parse().map_err(|_| format!("bad minute in '{part}'"))?;
            if h > 24 || m > 59 || (h == 24 && m > 0) {
                return Err(format!("'{part}' is not a time of day"));
            }
            Ok(h * 60 + m)
        };
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| "expected HH:MM-HH:MM, e.g. 08:00-21:00".to_owned())?;
        let (start, end) = (minutes(a)?, minutes(b)?);
        if start >= end {
            return Err("the window must start before it ends (same day)".into());
        }
        Ok(Self { start, end })
    }
}

impl fmt::Display for CallWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// The rules, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallPolicy {
    /// When calls may go out, callee's local time.
    pub window: CallWindow,
    /// Attempts after the first, for no answer or busy.
    pub max_retries: u32,
    /// Wait before the first retry; doubled for each next one.
    pub retry_backoff: Duration,
    /// Attempts per UTC day, retries included.
    pub max_calls_per_day: u32,
}

impl Default for CallPolicy {
    fn default() -> Self {
        Self {
            window: CallWindow::default(),
            max_retries: 2,
            retry_backoff: Duration::from_secs(600),
            max_calls_per_day: 20,
        }
    }
}

/// Why a call is refused; each names its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The number opted out (SMS STOP).
    #[error("{number} is on the do-not-call list (it opted out with STOP)")]
    DoNotCall {
        /// The number, masked.
        number: String,
    },
    /// Outside the calling window in the callee's zone.
    #[error(
        "it is {local_time} in {zone}, outside the calling window {window}; next opening {next_opening}"
    )]
    QuietHours {
        /// The callee's local time now.
        local_time: String,
        /// The callee's zone.
        zone: String,
        /// The window.
        window: String,
        /// When calls may go out again (RFC 3339).
        next_opening: String,
    },
    /// Today's attempts reached the cap.
    #[error("the daily cap of {limit} outbound calls is reached")]
    DailyCap {
        /// The cap.
        limit: u32,
    },
}

impl Refusal {
    /// The rule's name, as the API's error code.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::DoNotCall { .. } => "do_not_call",
            Self::QuietHours { .. } => "quiet_hours",
            Self::DailyCap { .. } => "daily_cap",
        }
    }
}

fn zoned(at: OffsetDateTime, zone: &TimeZone) -> jiff::ZonedDateTime {
    Timestamp::from_second(at.unix_timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned_datetime(zone.clone())
}

fn from_zoned(z: &jiff::ZonedDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(z.timestamp().as_second())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl CallPolicy {
    /// Whether `at` is inside the window in `zone`.
    pub fn in_window(&self, at: OffsetDateTime, zone: &TimeZone) -> bool {
        let local = zoned(at, zone);
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        (self.window.start..self.window.end).contains(&minute)
    }

    /// `at` if it is inside the window in `zone`, else the window's next opening there.
    pub fn next_allowed(&self, at: OffsetDateTime, zone: &TimeZone) -> OffsetDateTime {
        if self.in_window(at, zone) {
            return at;
        }
        let local = zoned(at, zone);
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        let day = if minute < self.window.start {
            local.date()
        } else {
            local.date().tomorrow().unwrap_or(local.date())
        };
        let (h, m) = (self.window.start / 60, self.window.start % 60);
        // A wall time skipped by a DST change resolves forward (jiff's compatible rule).
        match day
            .at(h as i8, m as i8, 0, 0)
            .to_zoned_datetime(zone.clone())
        {
            Ok(opening) => from_zoned(&opening),
            Err(_) => at + Duration::from_secs(3600),
        }
    }

    /// Admits a new call placed at `now` to a callee in `zone` (`zone_name` for messages),
    /// given whether the number opted out and how many attempts were made today. The rules are
    /// checked in this order: do-not-call, quiet hours, daily cap.
    pub fn admit(
        &self,
        now: OffsetDateTime,
        zone_name: &str,
        zone: &TimeZone,
        number_masked: &str,
        opted_out: bool,
        calls_today: u64,
    ) -> Result<(), Refusal> {
        if opted_out {
            return Err(Refusal::DoNotCall {
                number: number_masked.to_owned(),
            });
        }
        if !self.in_window(now, zone) {
            let local = zoned(now, zone);
            let next = self.next_allowed(now, zone);
            return Err(Refusal::QuietHours {
                local_time: format!("{:02}:{:02}", local.hour(), local.minute()),
                zone: zone_name.to_owned(),
                window: self.window.to_string(),
                next_opening: next
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            });
        }
        if calls_today >= u64::from(self.max_calls_per_day) {
            return Err(Refusal::DailyCap {
                limit: self.max_calls_per_day,
            });
        }
        Ok(())
    }

    /// When to try again after an attempt ended with `outcome`, `attempts_made` attempts in
    /// all so far; `None` when it must not be retried (the outcome is final, or the retries
    /// are spent). The time is moved out of quiet hours.
    pub fn retry_at(
        &self,
        now: OffsetDateTime,
        zone: &TimeZone,
        attempts_made: u32,
        outcome: OutboundOutcome,
    ) -> Option<OffsetDateTime> {
        if !outcome.is_retryable() || attempts_made == 0 || attempts_made > self.max_retries {
            return None;
        }
        let factor = 1u32 << (attempts_made - 1).min(10);
        let delay = self.retry_backoff.saturating_mul(factor);
        Some(self.next_allowed(now + delay, zone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").unwrap()
    }

    #[test]
    fn the_window_parses_and_prints() {
        let w: CallWindow = "09:30-18:00".parse().unwrap();
        assert_eq!(w.to_string(), "09:30-18:00");
        assert!("18:00-09:00".parse::<CallWindow>().is_err());
        assert!("25:00-26:00".parse::<CallWindow>().is_err());
        assert!("nine-five".parse::<CallWindow>().is_err());
        assert_eq!(CallWindow::default().to_string(), "08:00-21:00");
    }

    #[test]
    fn quiet_hours_are_in_the_callees_zone() {
        let policy = CallPolicy::default();
        // 06:30 UTC is 07:30 in Paris (winter): quiet. 07:30 UTC is 08:30 there: allowed.
        let early = datetime!(2026-11-30 06:30 UTC);
        let refusal = policy
            .admit(early, "Europe/Paris", &paris(), "***0123", false, 0)
            .unwrap_err();
        assert_eq!(refusal.rule(), "quiet_hours");
        assert!(
            refusal.to_string().contains("07:30 in Europe/Paris"),
            "{refusal}"
        );
        assert!(
            refusal.to_string().contains("2026-11-30T07:00:00Z"),
            "{refusal}"
        );
        assert!(
            policy
                .admit(
                    datetime!(2026-11-30 07:30 UTC),
                    "Europe/Paris",
                    &paris(),
                    "x",
                    false,
                    0
                )
                .is_ok()
        );
        // 20:59 Paris is allowed, 21:00 is not (end exclusive).
        assert!(policy.in_window(datetime!(2026-11-30 19:59 UTC), &paris()));
        assert!(!policy.in_window(datetime!(2026-11-30 20:00 UTC), &paris()));
        // The same instant is fine in New York (02:30 there is not, though).
        let ny = TimeZone::get("America/New_York").unwrap();
        assert!(!policy.in_window(early, &ny));
        assert!(policy.in_window(datetime!(2026-11-30 14:00 UTC), &ny));
    }

    #[test]
    fn do_not_call_comes_first_and_the_cap_last() {
        let policy = CallPolicy {
            max_calls_per_day: 3,
            ..CallPolicy::default()
        };
        let noon = datetime!(2026-11-30 11:00 UTC);
        let night = datetime!(2026-11-30 23:00 UTC);
        let r = policy.admit(night, "Europe/Paris", &paris(), "***0123", true, 99);
        assert_eq!(r.unwrap_err().rule(), "do_not_call");
        let r = policy.admit(noon, "Europe/Paris", &paris(), "x", false, 3);
        assert_eq!(r.unwrap_err(), Refusal::DailyCap { limit: 3 });
        assert!(
            policy
                .admit(noon, "Europe/Paris", &paris(), "x", false, 2)
                .is_ok()
        );
    }

    #[test]
    fn retries_back_off_then_stop() {
        let policy = CallPolicy {
            max_retries: 2,
            retry_backoff: Duration::from_secs(600),
            ..CallPolicy::default()
        };
        let now = datetime!(2026-11-30 10:00 UTC);
        let z = paris();
        assert_eq!(
            policy.retry_at(now, &z, 1, OutboundOutcome::NoAnswer),
            Some(datetime!(2026-11-30 10:10 UTC))
        );
        assert_eq!(
            policy.retry_at(now, &z, 2, OutboundOutcome::Busy),
            Some(datetime!(2026-11-30 10:20 UTC))
        );
        assert_eq!(policy.retry_at(now, &z, 3, OutboundOutcome::NoAnswer), None);
        assert_eq!(policy.retry_at(now, &z, 1, OutboundOutcome::Human), None);
        assert_eq!(policy.retry_at(now, &z, 1, OutboundOutcome::Failed), None);
    }

    #[test]
    fn a_retry_due_in_quiet_hours_waits_for_the_morning() {
        let policy = CallPolicy {
            retry_backoff: Duration::from_secs(3600),
            ..CallPolicy::default()
        };
        // 20:30 Paris + 1 h = 21:30: quiet; the next opening is 08:00 the next day (07:00 UTC).
        let at = policy.retry_at(
            datetime!(2026-11-30 19:30 UTC),
            &paris(),
            1,
            OutboundOutcome::NoAnswer,
        );
        assert_eq!(at, Some(datetime!(2026-12-01 07:00 UTC)));
        // Before the opening the same day: that morning.
        assert_eq!(
            policy.next_allowed(datetime!(2026-11-30 05:00 UTC), &paris()),
            datetime!(2026-11-30 07:00 UTC)
        );
    }
}
