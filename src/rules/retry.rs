//! How often and for how long a failed migration is retried, and how long records are kept.
//!
//! The seed's service retries "up to 9 times over 24 hours" and purges "records for migrations
//! older than 150 days". The backoff doubles from 5 minutes and is capped at 6 hours, so the nine
//! delays (5, 10, 20, 40, 80, 160, 320, 360, 360 minutes) sum to 1355 minutes, inside 24 hours.

use chrono::Duration;

/// Retries after the first attempt.
pub const MAX_RETRIES: u32 = 9;
/// First retry delay, in minutes.
const FIRST_DELAY_MINUTES: i64 = 5;
/// Longest single delay, in minutes.
const MAX_DELAY_MINUTES: i64 = 360;
/// Status records of finished migrations older than this are purged.
pub const RECORD_RETENTION_DAYS: i64 = 150;

/// The delay before retry number `retry` (1-based), or `None` when retries are exhausted.
pub fn retry_delay(retry: u32) -> Option<Duration> {
    if retry == 0 || retry > MAX_RETRIES {
        return None;
    }
    let doubled = FIRST_DELAY_MINUTES << (retry - 1).min(20);
    Some(Duration::minutes(doubled.min(MAX_DELAY_MINUTES)))
}

/// Age after which finished records are purged.
pub fn record_retention() -> Duration {
    Duration::days(RECORD_RETENTION_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    // "retries up to 9 times over 24 hours"
    #[test]
    fn retry_schedule_has_nine_retries_within_24_hours() {
        let delays: Vec<i64> = (1..=MAX_RETRIES)
            .map(|n| retry_delay(n).expect("within budget").num_minutes())
            .collect();
        assert_eq!(delays, vec![5, 10, 20, 40, 80, 160, 320, 360, 360]);
        assert!(delays.iter().sum::<i64>() <= 24 * 60);
        assert!(
            delays.windows(2).all(|w| w[0] <= w[1]),
            "backoff never shrinks"
        );
        assert_eq!(retry_delay(0), None);
        assert_eq!(retry_delay(MAX_RETRIES + 1), None);
        assert_eq!(retry_delay(u32::MAX), None);
    }

    // "Records for migrations older than 150 days are purged"
    #[test]
    fn records_are_kept_150_days() {
        assert_eq!(record_retention().num_days(), 150);
    }
}
