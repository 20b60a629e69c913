//! AWS adapters.
//!
//! - [`DynamoRecords`]: the `Records` store on one DynamoDB table; [`create_table`] makes one.
//! - [`secrets`]: configuration from one Secrets Manager secret.
//! - [`EventBridgeAlarm`]: reminders' alarms as EventBridge Scheduler one-time schedules.
//! - [`sdk_config`]: SDK configuration with explicit timeouts and bounded retries.

mod dynamo;
mod scheduler;
mod sdk;
pub mod secrets;

pub use dynamo::{DynamoRecords, create_table};
pub use scheduler::{EventBridgeAlarm, LazyEventBridgeAlarm, at_expression, schedule_name};
pub use sdk::sdk_config;
