//! The reconnect budget: attempts are counted over the whole call, not per drop, so a server
//! that accepts and closes again at once does not get endless billed sessions; each attempt
//! waits twice as long as the one before.
//!
//! Pure state, no I/O.

use std::time::Duration;

/// First pause before a reconnect attempt; doubled for each later one.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest pause between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Reconnect attempts of one call.
#[derive(Debug)]
pub struct ReconnectBudget {
    total: u32,
    used: u32,
}

impl ReconnectBudget {
    /// `total` attempts for the whole call.
    pub fn new(total: u32) -> Self {
        Self { total, used: 0 }
    }

    /// The pause before the next attempt, or `None` when the budget is spent.
    pub fn next_attempt(&mut self) -> Option<Duration> {
        if self.used >= self.total {
            return None;
        }
        self.used += 1;
        Some(
            FIRST_BACKOFF
                .saturating_mul(2u32.saturating_pow(self.used - 1))
                .min(MAX_BACKOFF),
        )
    }

    /// Attempts made so far.
    pub fn used(&self) -> u32 {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_for_the_whole_call_and_backs_off() {
        let mut b = ReconnectBudget::new(3);
        assert_eq!(b.next_attempt(), Some(Duration::from_millis(200)));
        // A successful reconnect does not refill it: the next drop uses the next attempt.
        assert_eq!(b.next_attempt(), Some(Duration::from_millis(400)));
        assert_eq!(b.next_attempt(), Some(Duration::from_millis(800)));
        assert_eq!(b.next_attempt(), None);
        assert_eq!(b.used(), 3);
    }

    #[test]
    fn the_pause_is_capped() {
        let mut b = ReconnectBudget::new(40);
        let last = (0..40).filter_map(|_| b.next_attempt()).last();
        assert_eq!(last, Some(MAX_BACKOFF));
    }
}
