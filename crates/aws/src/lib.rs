//! AWS adapters.
//!
//! - [`DynamoRecords`]: the `Records` store on one DynamoDB table; [`create_table`] makes one.
//! - [`secrets`]: configuration from one Secrets Manager secret.
//! - [`EventBridgeAlarm`]: reminders' alarms as EventBridge Scheduler one-time schedules.
//! - [`SqsEventSink`]: webhook events sent to an SQS queue ([`WebhookQueue`]), which the
//!   `webhook-delivery` function consumes.
//! - [`sdk_config`]: SDK configuration with explicit timeouts and bounded retries.

mod dynamo;
mod scheduler;
mod sdk;
pub mod secrets;
mod webhook_queue;

pub use dynamo::{DynamoRecords, create_table};
pub use scheduler::{EventBridgeAlarm, LazyEventBridgeAlarm, at_expression, schedule_name};
pub use sdk::sdk_config;
pub use webhook_queue::{QueueError, SEND_TIMEOUT, Spawn, SqsEventSink, WebhookQueue};
