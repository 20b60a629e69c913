//! The per-host cap on concurrent calls, as a counter with a guard that gives the slot back
//! however a call ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live calls against a maximum.
#[derive(Debug, Clone)]
pub struct CallSlots {
    active: Arc<AtomicUsize>,
    max: usize,
}

/// One taken slot; dropping it frees the slot.
#[derive(Debug)]
pub struct CallSlot {
    active: Arc<AtomicUsize>,
}

impl CallSlots {
    /// At most `max` calls at once.
    pub fn new(max: usize) -> Self {
        Self {
            active: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Takes a slot, or `None` when the host is full.
    pub fn try_acquire(&self) -> Option<CallSlot> {
        self.active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| CallSlot {
                active: self.active.clone(),
            })
    }

    /// Live calls now.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        self.active.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_refused_beyond_the_max_and_returned_on_drop() {
        let slots = CallSlots::new(2);
        let a = slots.try_acquire().unwrap();
        let _b = slots.try_acquire().unwrap();
        assert!(slots.try_acquire().is_none());
        drop(a);
        assert_eq!(slots.active(), 1);
        assert!(slots.try_acquire().is_some());
    }
}
